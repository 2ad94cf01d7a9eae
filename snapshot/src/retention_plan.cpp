#include "aether/snapshot/retention_plan.hpp"

#include <limits>

namespace aether {

size_t retention_plan::snapshots_needed(size_t keep, bool delete_events) {
  if (keep > 0)
    return keep;
  return delete_events ? std::numeric_limits<size_t>::max() : 0;
}

retention_plan retention_plan::make(const std::vector<int64_t>& newest_first,
                                    size_t keep, bool delete_events) {
  retention_plan plan;
  if (newest_first.empty() || snapshots_needed(keep, delete_events) == 0)
    return plan;
  // The oldest snapshot kept: the `keep`-th newest, or the oldest there is.
  auto kept = keep > 0 && keep < newest_first.size() ? keep
                                                     : newest_first.size();
  auto oldest_kept = newest_first[kept - 1];
  if (keep > 0 && oldest_kept > 1)
    plan.delete_snapshots_below = oldest_kept;
  if (delete_events)
    plan.delete_events_to = oldest_kept;
  return plan;
}

} // namespace aether
