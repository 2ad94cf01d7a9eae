#pragma once

#include "aether/persistence/event_upcasters.hpp"
#include "aether/persistence/live_query.hpp"
#include "aether/projections/dead_letter.hpp"

#include <caf/error.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace aether {

/// What a projection reads and how it runs (see `projection`).
struct projection_options {
  /// The projection's name: its offsets are stored under it. 1 to 128
  /// bytes of letters, digits, `_`, `-` and `.`.
  std::string name;
  /// Every event of the store, or one tag's.
  event_query query = event_query::all();
  /// Events per read, at most (a transaction holds one read's events).
  size_t batch_size = 256;
  /// Workers the projection is split over, each with its own thread and
  /// offset; worker i handles the actors whose id hashes (FNV-1a) to i. The
  /// order holds per actor, not across actors of different workers.
  /// Offsets stored with another number of workers refuse to start.
  size_t workers = 1;
  /// How often a caught-up worker reads again, and the first wait after a
  /// failure (the wait doubles up to `max_backoff`).
  std::chrono::milliseconds poll_interval{10};
  std::chrono::milliseconds max_backoff{10000};
  /// After this many failed attempts at one event, hand it to
  /// `dead_letter` and move on (0: never; retry until it succeeds).
  size_t dead_letter_after = 0;
  /// Gets the events given up on (required with `dead_letter_after`).
  std::function<void(const dead_letter&)> dead_letter;
  /// Upcasts stored events to their current shape before the handler sees
  /// them (see `event_upcasters`).
  std::shared_ptr<const event_upcasters> upcasters;

  /// Checks the rules; the error (`invalid_argument`) names the field.
  caf::error validate() const;
};

} // namespace aether
