#pragma once

#include "aether/persistence/event_query.hpp"
#include "aether/projections/offset_store.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <cstdint>
#include <vector>

namespace aether::detail {

/// Where a worker's events and offsets go: the handler plus an offset store
/// (at-least-once), or a SQLite transaction (exactly-once).
class projection_sink {
public:
  /// One stored event's part of a read: its position and the events that
  /// came of it (upcasting may split one), `events[begin, end)` of the read.
  struct group {
    int64_t position = 0;
    size_t begin = 0;
    size_t end = 0;
  };

  /// What a worker hands to its sink: the events in order, pointing into the
  /// page read or, when upcast, into the worker's storage for the page, and
  /// the groups of stored events they came of.
  struct read {
    std::vector<const positioned_event*> events;
    std::vector<group> groups;
  };

  struct outcome {
    /// Groups handled and stored with their offset.
    size_t handled = 0;
    /// With `handler_failed`: the group whose handler failed.
    size_t failed_at = 0;
    /// Why it stopped (none: all handled, offset `end` stored).
    caf::error err;
    /// True when the handler failed at group `handled`; false when the
    /// sink itself failed (a transaction or an offset that could not be
    /// stored): that is no fault of the event, which must not count toward
    /// its dead letter.
    bool handler_failed = false;
    /// Failed handler calls that did not stop the read (a batch that
    /// failed, handed over again event by event).
    size_t failures = 0;
    /// The position handled up to: stored with the events (exactly-once)
    /// or being stored (at-least-once, see `stored`); unchanged when
    /// nothing was handled.
    int64_t offset = 0;
  };

  virtual ~projection_sink();

  /// Every stored offset of the projection.
  virtual caf::expected<std::vector<stored_offset>> load() = 0;

  /// Hands the groups to the handler in order, then stores `end` as the
  /// offset of `worker`. On a failure at group i, the groups before it are
  /// kept with the offset of group i - 1 (exactly-once: in one
  /// transaction; what group i wrote is rolled back).
  virtual outcome handle(const stored_offset& from, const read& r, int64_t end)
    = 0;

  /// Stores an offset without handling anything (moving past a dead
  /// letter), durably before it returns.
  virtual caf::error save(const stored_offset& offset) = 0;

  /// Waits until the offsets of what was handled are stored (when the
  /// worker stops).
  virtual caf::error flush() = 0;

  /// The newest position this sink stored, -1 before the first.
  virtual int64_t stored() const = 0;
};

} // namespace aether::detail
