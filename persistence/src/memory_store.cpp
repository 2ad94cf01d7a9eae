#include "aether/persistence/memory_store.hpp"

#include "aether/core/error.hpp"

#include <algorithm>
#include <mutex>

namespace aether {

memory_store::memory_store(store_limits limits) : limits_(limits) {
  // nop
}

memory_store::~memory_store() = default;

void memory_store::append(std::vector<event> batch, append_callback done) {
  done(store_batch(std::move(batch)));
}

caf::expected<append_result>
memory_store::store_batch(std::vector<event> batch) {
  auto encoded = prepare_events(batch, limits_);
  if (!encoded)
    return encoded.error();
  std::unique_lock<std::shared_mutex> guard{mtx_};
  auto i = streams_.try_emplace(batch.front().actor_id).first;
  auto& s = i->second;
  if (batch.front().version != s.latest + 1)
    return make_version_conflict(batch.front().actor_id, batch.front().version,
                                 s.latest);
  if (s.slots.empty())
    s.first_version = batch.front().version;
  for (auto& ev : batch) {
    log_.push_back(log_entry{&i->first, ev.version});
    auto position = static_cast<int64_t>(log_.size());
    for (auto& tag : ev.tags())
      tags_[tag].push_back(position);
    s.slots.push_back(slot{std::move(ev), {}});
  }
  s.latest = s.first_version + static_cast<int64_t>(s.slots.size()) - 1;
  return append_result{s.latest, 0};
}

template <class F>
void memory_store::read_range(const stream& s, const event_range& range,
                              F f) const {
  if (range.max_count == 0 || range.from_version > range.to_version
      || s.slots.empty())
    return;
  auto last = s.first_version + static_cast<int64_t>(s.slots.size()) - 1;
  auto from = std::max(range.from_version, s.first_version);
  auto to = std::min(range.to_version, last);
  size_t n = 0;
  for (auto v = from; v <= to && n < range.max_count; ++v, ++n)
    f(s.slots[static_cast<size_t>(v - s.first_version)]);
  events_read_ += n;
}

caf::expected<std::vector<event>>
memory_store::get_events(const std::string& actor_id, event_range range) {
  if (auto err = validate_actor_id(actor_id))
    return err;
  std::vector<event> result;
  std::shared_lock<std::shared_mutex> guard{mtx_};
  auto i = streams_.find(actor_id);
  if (i == streams_.end())
    return result;
  caf::error err;
  read_range(i->second, range, [&](const slot& x) {
    if (err)
      return;
    if (!x.corrupt_raw.empty())
      err = make_persistence_error(
        persistence_error::corrupt_data,
        "event of actor \"" + actor_id + "\" at position "
          + std::to_string(x.ev.version) + " does not decode");
    else
      result.push_back(x.ev);
  });
  if (err)
    return err;
  return result;
}

caf::expected<replay_result>
memory_store::get_events_with_errors(const std::string& actor_id,
                                     event_range range) {
  if (auto err = validate_actor_id(actor_id))
    return err;
  replay_result result;
  std::shared_lock<std::shared_mutex> guard{mtx_};
  auto i = streams_.find(actor_id);
  if (i == streams_.end())
    return result;
  read_range(i->second, range, [&](const slot& x) {
    if (x.corrupt_raw.empty())
      result.events.push_back(x.ev);
    else
      result.errors.push_back(
        replay_error{static_cast<uint64_t>(x.ev.version), x.corrupt_raw,
                     "record does not decode as an event"});
  });
  return result;
}

caf::expected<int64_t>
memory_store::get_latest_version(const std::string& actor_id) {
  if (auto err = validate_actor_id(actor_id))
    return err;
  std::shared_lock<std::shared_mutex> guard{mtx_};
  auto i = streams_.find(actor_id);
  return i == streams_.end() ? 0 : i->second.latest;
}

caf::expected<std::vector<std::string>> memory_store::actor_ids() {
  std::vector<std::string> out;
  {
    std::shared_lock<std::shared_mutex> guard{mtx_};
    for (auto& kv : streams_)
      if (kv.second.latest > 0)
        out.push_back(kv.first);
  }
  std::sort(out.begin(), out.end());
  return out;
}

template <class At>
void memory_store::read_positions(size_t first, size_t last, At at,
                                  size_t max_count, query_page& page) const {
  size_t n = 0;
  for (auto i = first; i < last; ++i) {
    if (n == max_count)
      return;
    auto position = at(i);
    auto& entry = log_[static_cast<size_t>(position - 1)];
    auto& s = streams_.find(*entry.actor_id)->second;
    if (entry.version >= s.first_version) {
      auto& x = s.slots[static_cast<size_t>(entry.version - s.first_version)];
      if (!x.corrupt_raw.empty()) {
        page.error = replay_error{static_cast<uint64_t>(position),
                                  x.corrupt_raw,
                                  "record does not decode as an event"};
        return;
      }
      page.events.push_back(positioned_event{position, x.ev});
      ++n;
    }
    page.next_after = position;
    if (i + 1 == last)
      page.at_end = true;
  }
  events_read_ += n;
}

caf::expected<query_page>
memory_store::events_by_namespace(int64_t after_position, size_t max_count) {
  query_page page;
  std::shared_lock<std::shared_mutex> guard{mtx_};
  auto first = static_cast<size_t>(std::max<int64_t>(after_position, 0));
  page.next_after = std::max<int64_t>(after_position, 0);
  page.at_end = first >= log_.size();
  read_positions(
    first, log_.size(),
    [](size_t i) {
      return static_cast<int64_t>(i + 1);
    },
    max_count, page);
  return page;
}

caf::expected<query_page> memory_store::events_by_tag(const std::string& tag,
                                                      int64_t after_position,
                                                      size_t max_count) {
  if (auto err = validate_tag(tag))
    return err;
  query_page page;
  page.next_after = std::max<int64_t>(after_position, 0);
  std::shared_lock<std::shared_mutex> guard{mtx_};
  auto i = tags_.find(tag);
  if (i == tags_.end()) {
    page.at_end = true;
    return page;
  }
  auto& xs = i->second;
  auto first = static_cast<size_t>(
    std::upper_bound(xs.begin(), xs.end(), after_position) - xs.begin());
  page.at_end = first >= xs.size();
  read_positions(
    first, xs.size(),
    [&xs](size_t j) {
      return xs[j];
    },
    max_count, page);
  // Positions of other events passed by are not this tag's; a read that
  // reached the end has seen the store up to its newest position.
  if (page.at_end && !page.error)
    page.next_after = std::max(page.next_after,
                               static_cast<int64_t>(log_.size()));
  return page;
}

caf::expected<int64_t> memory_store::highest_position() {
  std::shared_lock<std::shared_mutex> guard{mtx_};
  return static_cast<int64_t>(log_.size());
}

caf::error memory_store::delete_events_to(const std::string& actor_id,
                                          int64_t version) {
  if (auto err = validate_actor_id(actor_id))
    return err;
  std::unique_lock<std::shared_mutex> guard{mtx_};
  auto i = streams_.find(actor_id);
  if (i == streams_.end() || version < i->second.first_version)
    return caf::none;
  auto& s = i->second;
  auto n = std::min(static_cast<size_t>(version - s.first_version + 1),
                    s.slots.size());
  s.slots.erase(s.slots.begin(), s.slots.begin() + static_cast<long>(n));
  s.first_version += static_cast<int64_t>(n);
  return caf::none;
}

caf::error memory_store::save_snapshot(actor_snapshot snap) {
  auto encoded = prepare_snapshot(snap, limits_);
  if (!encoded)
    return encoded.error();
  std::unique_lock<std::shared_mutex> guard{mtx_};
  auto& slot = streams_[snap.actor_id].snapshots[snap.version];
  slot = snapshot_slot{std::move(snap), {}};
  return caf::none;
}

caf::expected<std::optional<actor_snapshot>>
memory_store::get_latest_snapshot(const std::string& actor_id,
                                  snapshot_criteria criteria) {
  if (auto err = validate_actor_id(actor_id))
    return err;
  std::shared_lock<std::shared_mutex> guard{mtx_};
  auto i = streams_.find(actor_id);
  if (i == streams_.end())
    return std::optional<actor_snapshot>{};
  auto& snaps = i->second.snapshots;
  for (auto j = snaps.rbegin(); j != snaps.rend(); ++j) {
    if (!criteria.matches(j->second.snapshot))
      continue;
    if (!j->second.corrupt_raw.empty())
      return make_corrupt_snapshot(actor_id, j->first,
                                   "record does not decode as a snapshot");
    return std::optional<actor_snapshot>{j->second.snapshot};
  }
  return std::optional<actor_snapshot>{};
}

caf::expected<size_t>
memory_store::delete_snapshots(const std::string& actor_id,
                               snapshot_criteria criteria) {
  if (auto err = validate_actor_id(actor_id))
    return err;
  std::unique_lock<std::shared_mutex> guard{mtx_};
  auto i = streams_.find(actor_id);
  if (i == streams_.end())
    return size_t{0};
  size_t n = 0;
  auto& snaps = i->second.snapshots;
  for (auto j = snaps.begin(); j != snaps.end();) {
    if (criteria.matches(j->second.snapshot)) {
      j = snaps.erase(j);
      ++n;
    } else {
      ++j;
    }
  }
  return n;
}

bool memory_store::corrupt_event_for_testing(const std::string& actor_id,
                                             int64_t version, std::string raw) {
  std::unique_lock<std::shared_mutex> guard{mtx_};
  auto i = streams_.find(actor_id);
  if (i == streams_.end())
    return false;
  auto& s = i->second;
  if (version < s.first_version
      || version >= s.first_version + static_cast<int64_t>(s.slots.size()))
    return false;
  s.slots[static_cast<size_t>(version - s.first_version)].corrupt_raw
    = raw.empty() ? std::string{"\x01"} : std::move(raw);
  return true;
}

void memory_store::corrupt_snapshot_for_testing(const std::string& actor_id,
                                                int64_t version,
                                                std::string raw) {
  std::unique_lock<std::shared_mutex> guard{mtx_};
  snapshot_slot x;
  x.snapshot.actor_id = actor_id;
  x.snapshot.version = version;
  x.snapshot.time = now();
  x.corrupt_raw = raw.empty() ? std::string{"\x01"} : std::move(raw);
  streams_[actor_id].snapshots[version] = std::move(x);
}

size_t memory_store::events_read() const {
  return events_read_.load();
}

} // namespace aether
