#pragma once

#include "aether/persistence/event.hpp"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace aether {

/// Which events of one actor a read returns. Bounds are inclusive; events
/// come back in version order.
struct event_range {
  int64_t from_version = 1;
  int64_t to_version = std::numeric_limits<int64_t>::max();
  /// At most this many events (0 returns none).
  size_t max_count = std::numeric_limits<size_t>::max();
  /// Store-private hint: the store position of an event at or before
  /// `from_version` (taken from a snapshot's `store_position`). A store that
  /// supports positions starts reading right after it; others ignore it.
  uint64_t after_position = 0;
};

/// A stored record that did not decode.
struct replay_error {
  /// Where the record is: the version for stores keyed by version, the stream
  /// sequence for JetStream.
  uint64_t position = 0;
  /// The record's bytes as stored.
  std::string raw;
  /// Why it did not decode.
  std::string reason;
};

/// The good events of a read plus one error per record that did not decode.
struct replay_result {
  std::vector<event> events;
  std::vector<replay_error> errors;
  /// Store-private position of the last event in `events` (0 if the store
  /// has no positions).
  uint64_t last_position = 0;
};

/// What a successful append reports.
struct append_result {
  /// The version of the last event of the batch.
  int64_t version = 0;
  /// Store-private position of that event (JetStream: stream sequence), 0 if
  /// the store has none. The runtime copies it into snapshots at `version`.
  uint64_t position = 0;
};

} // namespace aether
