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
  uint64_t after_position = 0;
  while (from <= to) {
    event_range range;
    range.from_version = from;
    range.to_version = to;
    range.max_count = page;
    // JetStream starts after the last message read whole (without it each
    // page would read the actor's messages from the first one again).
    range.after_position = after_position;
    auto read = store.get_events_with_errors(actor, range);
    if (!read)
      return read.error();
    for (auto& e : read->errors)
      if (reported.insert(e.position).second)
        bad(e);
    auto& events = read->events;
    if (!events.empty() && !f(events))
      return caf::none;
    // A page ends early only where the history ends: SQLite counts
    // undecodable rows in `max_count` (its positions are versions),
    // JetStream counts decoded events only.
    if (events.size() + read->errors.size() < page)
      return caf::none;
    if (!events.empty()) {
      from = events.back().version + 1;
      after_position = read->last_position;
      continue;
    }
    // A page of undecodable rows only: go on after the last of them.
    uint64_t highest = 0;
    for (auto& e : read->errors)
      highest = std::max(highest, e.position);
    if (static_cast<int64_t>(highest) < from)
      return caf::none;
    from = static_cast<int64_t>(highest) + 1;
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
