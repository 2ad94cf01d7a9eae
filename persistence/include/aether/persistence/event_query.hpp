#pragma once

#include "aether/persistence/event.hpp"
#include "aether/persistence/replay.hpp"

#include <cstdint>
#include <optional>
#include <vector>

namespace aether {

/// A stored event with its position in the store's global order.
///
/// Positions increase strictly in the order the store made events durable
/// (per namespace: one SQLite file, one JetStream namespace, one memory
/// store). A reader never sees position p + 1 before p: once it has read
/// past p, nothing at or below p appears later. On the memory and SQLite
/// stores positions are 1, 2, 3, ...; on JetStream a position is the
/// stream sequence of the batch's message times 2^20 plus the event's index
/// in the batch (`jetstream_position`), so its numbers have holes.
struct positioned_event {
  int64_t position = 0;
  event ev;
};

/// What one query read returns (see `event_store::events_by_namespace`).
struct query_page {
  /// The events read, in position order.
  std::vector<positioned_event> events;
  /// Where the next read continues (pass it as `after_position`): the
  /// position of the last record this read passed, an event or a record it
  /// skipped (another tag, a deletion marker). Never below the
  /// `after_position` of the read.
  int64_t next_after = 0;
  /// Set when the read stopped at a record that does not decode: its
  /// position, bytes and the reason. `events` holds what came before it and
  /// `next_after` stays below it; reading on after `error->position` skips
  /// it.
  std::optional<replay_error> error;
  /// True when the read reached the newest stored record: a read right now
  /// after `next_after` would find nothing.
  bool at_end = false;
};

} // namespace aether
