#include "aether/persistence/event_upcasters.hpp"

#include "aether/core/error.hpp"

#include <charconv>
#include <deque>
#include <exception>

namespace aether {

namespace {

caf::error bad_chain(const std::string& type, const std::string& why) {
  return make_persistence_error(persistence_error::invalid_argument,
                                "event upcasters: event type \"" + type
                                  + "\": " + why);
}

std::string name_of(const event& ev) {
  return "event " + std::to_string(ev.version) + " (\"" + ev.type + "\", id "
         + ev.id + ") of actor \"" + ev.actor_id + "\"";
}

// Results of one step: at most this many events in all, so that a step that
// keeps producing events cannot loop forever.
constexpr size_t max_results = 100000;

} // namespace

caf::expected<std::shared_ptr<const event_upcasters>>
event_upcasters::make(std::vector<step> steps) {
  std::shared_ptr<event_upcasters> result{new event_upcasters};
  for (auto& s : steps) {
    if (s.type.empty())
      return make_persistence_error(persistence_error::invalid_argument,
                                    "event upcasters: a step has no event "
                                    "type");
    if (s.from_version < 1)
      return bad_chain(s.type, "from_version must be at least 1 (is "
                                 + std::to_string(s.from_version) + ")");
    if (!s.upcast)
      return bad_chain(s.type, "the step from version "
                                 + std::to_string(s.from_version)
                                 + " has no function");
    auto key = std::make_pair(s.type, s.from_version);
    if (result->steps_.count(key) > 0)
      return bad_chain(s.type, "two steps from version "
                                 + std::to_string(s.from_version));
    result->steps_.emplace(std::move(key), std::move(s.upcast));
  }
  // Each type's steps run 1, 2, ..., n without a gap.
  for (auto& [key, f] : result->steps_) {
    auto& [type, from] = key;
    auto& current = result->current_[type];
    if (from != current + 1)
      return bad_chain(type, "no step from version "
                               + std::to_string(current + 1)
                               + " (the next step is from version "
                               + std::to_string(from) + ")");
    current = from;
  }
  for (auto& [type, last] : result->current_)
    last += 1; // the version after the last step
  return std::shared_ptr<const event_upcasters>{std::move(result)};
}

int event_upcasters::current_version(const std::string& type) const {
  auto i = current_.find(type);
  return i == current_.end() ? 1 : i->second;
}

caf::expected<int> event_upcasters::version_of(const event& ev) {
  auto& text = ev.get_metadata(metadata_keys::schema_version);
  if (text.empty())
    return 1;
  int v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || v < 1)
    return make_persistence_error(persistence_error::corrupt_data,
                                  name_of(ev) + ": metadata schemaVersion \""
                                    + text
                                    + "\" is not a version (a number from 1)");
  return v;
}

caf::error event_upcasters::each_current(
  const std::shared_ptr<const event_upcasters>& upcasters, const event& ev,
  const std::function<void(const event&)>& f) {
  if (!upcasters) {
    f(ev);
    return caf::none;
  }
  auto current = upcasters->upcast(ev);
  if (!current)
    return current.error();
  for (auto& e : *current)
    f(e);
  return caf::none;
}

void event_upcasters::stamp(event& ev) const {
  auto v = current_version(ev.type);
  ev.set_metadata(metadata_keys::schema_version,
                  v > 1 ? std::to_string(v) : std::string{});
}

caf::expected<std::vector<event>>
event_upcasters::upcast(const event& ev) const {
  std::vector<event> out;
  std::deque<std::pair<event, int>> todo;
  auto v = version_of(ev);
  if (!v)
    return v.error();
  todo.emplace_back(ev, *v);
  size_t produced = 0;
  while (!todo.empty()) {
    auto [e, version] = std::move(todo.front());
    todo.pop_front();
    auto current = current_version(e.type);
    if (version > current)
      return make_persistence_error(
        persistence_error::corrupt_data,
        name_of(e) + ": schema version " + std::to_string(version)
          + " is newer than this build's version " + std::to_string(current)
          + " of \"" + e.type + "\" (written by newer code?)");
    if (version == current) {
      out.push_back(std::move(e));
      continue;
    }
    auto& f = steps_.at({e.type, version});
    std::vector<event> results;
    try {
      results = f(e);
    } catch (const std::exception& x) {
      return make_persistence_error(persistence_error::corrupt_data,
                                    name_of(e) + ": the upcaster from version "
                                      + std::to_string(version)
                                      + " threw: " + x.what());
    } catch (...) {
      return make_persistence_error(persistence_error::corrupt_data,
                                    name_of(e) + ": the upcaster from version "
                                      + std::to_string(version) + " threw");
    }
    produced += results.size();
    if (produced > max_results)
      return make_persistence_error(persistence_error::corrupt_data,
                                    name_of(ev)
                                      + ": upcasting produced more "
                                        "than 100000 events");
    for (auto& r : results) {
      if (r.actor_id != e.actor_id || r.version != e.version)
        return make_persistence_error(
          persistence_error::corrupt_data,
          name_of(e) + ": the upcaster from version " + std::to_string(version)
            + " returned an event with another actor id or version");
      // The same type moves on one version (whatever tag a copy of the
      // input carries); another type is at its current version unless the
      // step tagged it with a version of its own.
      int next = 0;
      auto& tag = r.get_metadata(metadata_keys::schema_version);
      if (r.type == e.type) {
        next = version + 1;
      } else if (tag.empty()
                 || tag == e.get_metadata(metadata_keys::schema_version)) {
        next = current_version(r.type);
      } else {
        auto given = version_of(r);
        if (!given)
          return given.error();
        next = *given;
      }
      todo.emplace_back(std::move(r), next);
    }
  }
  // Current events carry their version as persisting stamps it.
  for (auto& e : out)
    stamp(e);
  return out;
}

} // namespace aether
