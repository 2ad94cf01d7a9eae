#pragma once

#include <cstddef>
#include <cstdint>

namespace aether {

/// What one worker of a projection did so far.
struct projection_stats {
  size_t worker = 0;
  /// Events handled: committed with their offset (exactly-once), or with
  /// their offset stored or being stored (at-least-once).
  uint64_t handled = 0;
  /// Failed attempts: a handler error or exception, an upcast that failed,
  /// a record that does not decode, an offset that could not be stored.
  uint64_t failures = 0;
  /// Events given up on (see `projection_options::dead_letter_after`).
  uint64_t dead_letters = 0;
  /// Reads of the store that failed (retried).
  uint64_t read_failures = 0;
  /// The stored offset.
  int64_t offset = 0;
  /// True while the worker has read everything there is.
  bool caught_up = false;
  /// Seconds from the newest handled event's time to now while behind;
  /// 0 when caught up.
  double seconds_behind = 0;
};

} // namespace aether
