#include "aether/snapshot/retention.hpp"

#include "aether/core/error.hpp"
#include "aether/snapshot/retention_plan.hpp"

#include <vector>

namespace aether {

caf::error apply_retention(event_store_with_snapshots& store,
                           const std::string& actor_id, int64_t newest_version,
                           size_t keep, bool delete_events) {
  auto needed = retention_plan::snapshots_needed(keep, delete_events);
  if (needed == 0)
    return caf::none;
  // The versions the plan needs, newest first: walk down from the newest.
  std::vector<int64_t> versions{newest_version};
  snapshot_criteria c;
  while (versions.size() < needed) {
    c.max_version = versions.back() - 1;
    if (c.max_version <= 0)
      break;
    auto older = store.get_latest_snapshot(actor_id, c);
    int64_t v = 0;
    if (older && *older) {
      v = (*older)->version;
    } else if (!older) {
      // An undecodable snapshot still counts as one.
      auto bad = get_corrupt_snapshot_version(older.error());
      if (!bad)
        return older.error(); // a failed read: delete nothing this time
      v = *bad;
    }
    if (v == 0)
      break;
    versions.push_back(v);
  }
  auto plan = retention_plan::make(versions, keep, delete_events);
  if (plan.delete_snapshots_below > 0) {
    c = snapshot_criteria{};
    c.max_version = plan.delete_snapshots_below - 1;
    auto n = store.delete_snapshots(actor_id, c);
    if (!n)
      return n.error();
  }
  if (plan.delete_events_to > 0)
    return store.delete_events_to(actor_id, plan.delete_events_to);
  return caf::none;
}

} // namespace aether
