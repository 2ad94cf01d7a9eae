#include "aether/snapshot/retention.hpp"

#include "aether/core/error.hpp"

namespace aether {

caf::error apply_retention(event_store_with_snapshots& store,
                           const std::string& actor_id, int64_t newest_version,
                           size_t keep, bool delete_events) {
  if (keep == 0 && !delete_events)
    return caf::none;
  // The oldest snapshot to keep: walk down from the newest.
  snapshot_criteria c;
  int64_t oldest_kept = newest_version;
  for (size_t n = 1; keep == 0 || n < keep; ++n) {
    c.max_version = oldest_kept - 1;
    if (c.max_version <= 0)
      break;
    auto older = store.get_latest_snapshot(actor_id, c);
    int64_t v = 0;
    if (older && *older) {
      v = (*older)->version;
    } else if (!older) {
      auto bad = get_corrupt_snapshot_version(older.error());
      if (!bad)
        return older.error(); // a failed read: delete nothing this time
      v = *bad;
    }
    if (v == 0)
      break;
    oldest_kept = v;
  }
  if (keep > 0 && oldest_kept > 1) {
    c = snapshot_criteria{};
    c.max_version = oldest_kept - 1;
    auto n = store.delete_snapshots(actor_id, c);
    if (!n)
      return n.error();
  }
  if (delete_events)
    return store.delete_events_to(actor_id, oldest_kept);
  return caf::none;
}

} // namespace aether
