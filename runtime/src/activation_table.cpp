#include "aether/runtime/activation_table.hpp"

namespace aether {

const char* to_string(passivation_cause x) {
  switch (x) {
    case passivation_cause::idle: return "idle";
    case passivation_cause::count_limit: return "count_limit";
    case passivation_cause::memory_budget: return "memory_budget";
  }
  return "?";
}

void activation_table::unlist(entry& e) {
  if (!e.listed)
    return;
  idle_.erase(e.place);
  e.listed = false;
}

void activation_table::list_last(const std::string& id, entry& e) {
  unlist(e);
  if (e.passivating || e.in_flight > 0)
    return;
  idle_.push_back(id);
  e.place = std::prev(idle_.end());
  e.listed = true;
}

void activation_table::add(const std::string& id, time_point now) {
  auto [i, added] = entries_.try_emplace(id);
  if (!added)
    return;
  i->second.last_used = now;
  list_last(id, i->second);
  ++active_;
}

void activation_table::remove(const std::string& id) {
  auto i = entries_.find(id);
  if (i == entries_.end())
    return;
  auto& e = i->second;
  if (!e.passivating) {
    --active_;
    bytes_ -= e.bytes;
  }
  unlist(e);
  entries_.erase(i);
}

bool activation_table::contains(const std::string& id) const {
  return entries_.count(id) > 0;
}

void activation_table::begin(const std::string& id, time_point now) {
  auto i = entries_.find(id);
  if (i == entries_.end())
    return;
  i->second.in_flight += 1;
  i->second.last_used = now;
  unlist(i->second);
}

void activation_table::end(const std::string& id, time_point now) {
  auto i = entries_.find(id);
  if (i == entries_.end())
    return;
  auto& e = i->second;
  if (e.in_flight > 0)
    e.in_flight -= 1;
  e.last_used = now;
  list_last(id, e);
}

void activation_table::set_bytes(const std::string& id, uint64_t bytes) {
  auto i = entries_.find(id);
  if (i == entries_.end())
    return;
  auto& e = i->second;
  if (!e.passivating)
    bytes_ = bytes_ - e.bytes + bytes;
  e.bytes = bytes;
}

void activation_table::mark_passivating(const std::string& id) {
  auto i = entries_.find(id);
  if (i == entries_.end() || i->second.passivating)
    return;
  auto& e = i->second;
  e.passivating = true;
  unlist(e);
  --active_;
  bytes_ -= e.bytes;
}

bool activation_table::passivating(const std::string& id) const {
  auto i = entries_.find(id);
  return i != entries_.end() && i->second.passivating;
}

size_t activation_table::in_flight(const std::string& id) const {
  auto i = entries_.find(id);
  return i == entries_.end() ? 0 : i->second.in_flight;
}

std::vector<activation_table::victim>
activation_table::select(time_point now,
                         const passivation_options& opts) const {
  std::vector<victim> out;
  size_t active = active_;
  uint64_t bytes = bytes_;
  for (auto& id : idle_) {
    auto& e = entries_.at(id);
    passivation_cause cause;
    if (opts.idle_timeout.count() > 0 && now - e.last_used >= opts.idle_timeout)
      cause = passivation_cause::idle;
    else if (opts.max_active > 0 && active > opts.max_active)
      cause = passivation_cause::count_limit;
    else if (opts.memory_budget > 0 && bytes > opts.memory_budget)
      cause = passivation_cause::memory_budget;
    else
      break; // the rest were used more recently: none is idle either
    out.push_back(victim{id, cause});
    --active;
    bytes -= e.bytes;
  }
  return out;
}

std::vector<std::string> activation_table::least_recent(size_t n) const {
  std::vector<std::string> out;
  for (auto i = idle_.begin(); i != idle_.end() && out.size() < n; ++i)
    out.push_back(*i);
  return out;
}

std::vector<std::string> activation_table::active_ids() const {
  std::vector<std::string> out;
  for (auto& kv : entries_)
    if (!kv.second.passivating)
      out.push_back(kv.first);
  return out;
}

std::vector<std::string> activation_table::order() const {
  return {idle_.begin(), idle_.end()};
}

} // namespace aether
