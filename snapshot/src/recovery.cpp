#include "aether/snapshot/recovery.hpp"

#include "aether/core/error.hpp"

#include <algorithm>
#include <limits>

namespace aether {

namespace {

caf::error unrecoverable(const std::string& actor_id, const std::string& why) {
  return make_persistence_error(persistence_error::corrupt_data,
                                "cannot recover actor \"" + actor_id
                                  + "\": " + why);
}

} // namespace

caf::expected<snapshot_load_result> load_snapshot_with_fallback(
  event_store_with_snapshots& store, const std::string& actor_id,
  int64_t max_version,
  const std::function<caf::error(const actor_snapshot&)>& decode) {
  snapshot_load_result result;
  if (max_version <= 0)
    return result; // the state before the first event: nothing to load
  snapshot_criteria criteria;
  criteria.max_version = max_version;
  while (criteria.max_version > 0) {
    auto res = store.get_latest_snapshot(actor_id, criteria);
    if (!res) {
      auto bad = get_corrupt_snapshot_version(res.error());
      if (!bad)
        return res.error();
      ++result.fallbacks;
      result.fallback_reasons.push_back(describe(res.error()));
      criteria.max_version = *bad - 1;
      continue;
    }
    if (!*res)
      break;
    auto& snap = **res;
    if (decode) {
      if (auto err = decode(snap)) {
        ++result.fallbacks;
        result.fallback_reasons.push_back(
          "snapshot of actor \"" + actor_id + "\" at version "
          + std::to_string(snap.version)
          + " does not decode as state: " + describe(err));
        criteria.max_version = snap.version - 1;
        continue;
      }
    }
    result.snapshot = std::move(snap);
    return result;
  }
  // No usable snapshot: a full replay must start at version 1.
  auto latest = store.get_latest_version(actor_id);
  if (!latest)
    return latest.error();
  if (*latest == 0)
    return result;
  event_range first;
  first.from_version = 1;
  first.to_version = 1;
  first.max_count = 1;
  auto head = store.get_events_with_errors(actor_id, first);
  if (!head)
    return head.error();
  if (head->events.empty() && head->errors.empty()) {
    std::string why = "no usable snapshot";
    if (result.fallbacks > 0)
      why += " (" + std::to_string(result.fallbacks)
             + " did not decode: " + result.fallback_reasons.front() + ")";
    why += " and its first events were deleted, so a full replay is "
           "impossible";
    return unrecoverable(actor_id, why);
  }
  return result;
}

caf::expected<int64_t> check_replay_batch(const std::string& actor_id,
                                          const replay_result& batch,
                                          int64_t expected_next) {
  if (!batch.errors.empty()) {
    auto& e = batch.errors.front();
    return unrecoverable(actor_id, "the event at position "
                                     + std::to_string(e.position)
                                     + " does not decode: " + e.reason);
  }
  for (auto& ev : batch.events) {
    if (ev.version != expected_next)
      return unrecoverable(
        actor_id, "expected version " + std::to_string(expected_next)
                    + " but read version " + std::to_string(ev.version));
    ++expected_next;
  }
  return expected_next;
}

caf::expected<int64_t> replay_events(event_store& store,
                                     const std::string& actor_id, int64_t from,
                                     int64_t to, size_t batch_size,
                                     const std::function<void(const event&)>& f,
                                     uint64_t after_position) {
  int64_t count = 0;
  int64_t next = from;
  {
    // The end is at most the latest version, and a replay must reach it
    // (stopping short would silently return an older state).
    auto latest = store.get_latest_version(actor_id);
    if (!latest)
      return latest.error();
    to = std::min(to, *latest);
  }
  while (next <= to) {
    event_range range;
    range.from_version = next;
    range.to_version = to;
    range.max_count = batch_size;
    range.after_position = after_position;
    auto batch = store.get_events_with_errors(actor_id, range);
    if (!batch)
      return batch.error();
    if (batch->events.empty() && batch->errors.empty())
      break;
    auto checked = check_replay_batch(actor_id, *batch, next);
    if (!checked)
      return checked.error();
    next = *checked;
    after_position = batch->last_position;
    for (auto& ev : batch->events)
      f(ev);
    count += static_cast<int64_t>(batch->events.size());
  }
  if (next <= to)
    return unrecoverable(actor_id, "events " + std::to_string(next) + " to "
                                     + std::to_string(to) + " are missing");
  return count;
}

} // namespace aether
