#include "aether/persistence/event.hpp"

#include "aether/core/uuid.hpp"

#include <algorithm>

namespace aether {

namespace {

const std::string empty_string;

} // namespace

const std::string& event::get_metadata(const std::string& key) const {
  auto i = metadata.find(key);
  return i == metadata.end() ? empty_string : i->second;
}

void event::set_metadata(const std::string& key, std::string value) {
  if (value.empty())
    metadata.erase(key);
  else
    metadata[key] = std::move(value);
}

#define AETHER_METADATA_ACCESSORS(name)                                        \
  const std::string& event::name() const {                                     \
    return get_metadata(metadata_keys::name);                                  \
  }                                                                            \
  void event::set_##name(std::string value) {                                  \
    set_metadata(metadata_keys::name, std::move(value));                       \
  }

AETHER_METADATA_ACCESSORS(correlation_id)
AETHER_METADATA_ACCESSORS(causation_id)
AETHER_METADATA_ACCESSORS(user_id)
AETHER_METADATA_ACCESSORS(trace_id)
AETHER_METADATA_ACCESSORS(span_id)

#undef AETHER_METADATA_ACCESSORS

void event::copy_metadata_from(const event& cause) {
  // Tags describe the event they are on, not what it causes.
  for (auto& [k, v] : cause.metadata)
    if (k != metadata_keys::tags)
      metadata[k] = v;
  if (correlation_id().empty())
    set_correlation_id(cause.id);
  set_causation_id(cause.id);
}

std::vector<std::string> event::tags() const {
  std::vector<std::string> result;
  auto& joined = get_metadata(metadata_keys::tags);
  size_t start = 0;
  while (start < joined.size()) {
    auto end = joined.find(',', start);
    if (end == std::string::npos)
      end = joined.size();
    if (end > start)
      result.emplace_back(joined.substr(start, end - start));
    start = end + 1;
  }
  return result;
}

void event::set_tags(std::vector<std::string> tags) {
  std::sort(tags.begin(), tags.end());
  tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
  std::string joined;
  for (auto& t : tags) {
    if (!joined.empty())
      joined += ',';
    joined += t;
  }
  set_metadata(metadata_keys::tags, std::move(joined));
}

bool operator==(const event& x, const event& y) {
  return x.id == y.id && x.type == y.type && x.actor_id == y.actor_id
         && x.command_id == y.command_id && x.version == y.version
         && x.data == y.data && x.metadata == y.metadata && x.time == y.time;
}

bool operator!=(const event& x, const event& y) {
  return !(x == y);
}

event make_event(std::string type, std::string actor_id, int64_t version,
                 boost::json::value data) {
  event ev;
  ev.id = make_uuid();
  ev.type = std::move(type);
  ev.actor_id = std::move(actor_id);
  ev.version = version;
  ev.data = std::move(data);
  ev.time = now();
  return ev;
}

} // namespace aether
