#include "aether/tool/store_walk.hpp"

#include "aether/core/error.hpp"

#include <algorithm>
#include <set>

namespace aether::tool {

caf::error walk_events(event_store& store, const std::string& actor,
                       int64_t from, int64_t to, size_t page,
                       const std::function<bool(const std::vector<event>&)>& f,
                       const std::function<void(const replay_error&)>& bad) {
  std::set<uint64_t> reported;
  page = std::max<size_t>(page, 1);
  while (from <= to) {
    event_range range;
    range.from_version = from;
    range.to_version = to;
    range.max_count = page;
    auto read = store.get_events_with_errors(actor, range);
    if (!read)
      return read.error();
    for (auto& e : read->errors)
      if (reported.insert(e.position).second)
        bad(e);
    if (read->events.empty())
      return caf::none;
    if (!f(read->events))
      return caf::none;
    auto last = read->events.back().version;
    if (read->events.size() < page || last >= to)
      return caf::none;
    from = last + 1;
  }
  return caf::none;
}

caf::expected<snapshot_listing> list_snapshots(snapshot_store& store,
                                               const std::string& actor) {
  snapshot_listing out;
  auto criteria = snapshot_criteria::latest();
  while (criteria.max_version > 0) {
    auto s = store.get_latest_snapshot(actor, criteria);
    if (!s) {
      auto version = get_corrupt_snapshot_version(s.error());
      if (!version)
        return s.error();
      out.bad.push_back({*version, describe(s.error())});
      criteria.max_version = *version - 1;
      continue;
    }
    if (!*s)
      break;
    criteria.max_version = (*s)->version - 1;
    out.good.push_back(std::move(**s));
  }
  std::reverse(out.good.begin(), out.good.end());
  std::reverse(out.bad.begin(), out.bad.end());
  return out;
}

} // namespace aether::tool
