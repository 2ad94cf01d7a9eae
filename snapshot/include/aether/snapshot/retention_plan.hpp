#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace aether {

/// What a snapshot retention policy deletes after a snapshot was saved, as a
/// pure function of the snapshot versions the store holds: no store, no
/// actor. `apply_retention` reads the versions and carries the plan out.
struct retention_plan {
  /// How many snapshots the plan needs to see, the newest (just saved)
  /// included, newest first: `keep`; every one when `keep` is 0 and events
  /// are deleted (down to the oldest snapshot); 0 when nothing is deleted.
  static size_t snapshots_needed(size_t keep, bool delete_events);

  /// The plan for the versions read, newest first (`newest_first[0]` is the
  /// snapshot just saved; fewer than `snapshots_needed` when the store holds
  /// no more). Keeps the newest `keep` snapshots (0: all); with
  /// `delete_events`, deletes the events up to the oldest kept snapshot.
  static retention_plan make(const std::vector<int64_t>& newest_first,
                             size_t keep, bool delete_events);

  /// Delete the snapshots below this version (0: none).
  int64_t delete_snapshots_below = 0;
  /// Delete the events up to and including this version (0: none).
  int64_t delete_events_to = 0;
};

} // namespace aether
