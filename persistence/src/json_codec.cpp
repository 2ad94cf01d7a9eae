#include "aether/persistence/json_codec.hpp"

#include "aether/core/error.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace json = boost::json;

namespace aether::json_codec {

namespace {

caf::error corrupt(const std::string& what) {
  return make_persistence_error(persistence_error::corrupt_data, what);
}

caf::error missing(const char* field, const char* kind) {
  return corrupt("field \"" + std::string(field) + "\" is missing or not "
                 + kind);
}

const json::string* get_string(const json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  return v ? v->if_string() : nullptr;
}

bool get_int64(const json::object& o, const char* key, int64_t& out) {
  auto* v = o.if_contains(key);
  if (!v)
    return false;
  if (v->is_int64()) {
    out = v->get_int64();
    return true;
  }
  if (v->is_uint64() && v->get_uint64() <= INT64_MAX) {
    out = static_cast<int64_t>(v->get_uint64());
    return true;
  }
  return false;
}

caf::expected<timestamp> get_time(const json::object& o, const char* key) {
  auto* s = get_string(o, key);
  if (!s)
    return missing(key, "a string");
  auto t = parse_rfc3339(std::string_view{s->data(), s->size()});
  if (!t)
    return corrupt("field \"" + std::string(key)
                   + "\": " + describe(t.error()));
  return t;
}

} // namespace

json::value to_json(const event& ev) {
  json::object o;
  o.reserve(8);
  o.emplace("id", ev.id);
  o.emplace("eventType", ev.type);
  o.emplace("actorId", ev.actor_id);
  if (!ev.command_id.empty())
    o.emplace("commandId", ev.command_id);
  o.emplace("version", ev.version);
  o.emplace("data", ev.data);
  if (!ev.metadata.empty()) {
    json::object m;
    for (auto& [k, v] : ev.metadata)
      m.emplace(k, v);
    o.emplace("metadata", std::move(m));
  }
  o.emplace("timestamp", format_rfc3339(ev.time));
  return o;
}

caf::expected<event> event_from_json(const json::value& v) {
  auto* o = v.if_object();
  if (!o)
    return corrupt("event is not a JSON object");
  event ev;
  auto* id = get_string(*o, "id");
  if (!id)
    return missing("id", "a string");
  ev.id = std::string{id->data(), id->size()};
  auto* type = get_string(*o, "eventType");
  if (!type)
    return missing("eventType", "a string");
  ev.type = std::string{type->data(), type->size()};
  auto* actor = get_string(*o, "actorId");
  if (!actor)
    return missing("actorId", "a string");
  ev.actor_id = std::string{actor->data(), actor->size()};
  if (auto* cmd = o->if_contains("commandId")) {
    if (!cmd->is_string())
      return missing("commandId", "a string");
    ev.command_id = std::string{cmd->get_string()};
  }
  if (!get_int64(*o, "version", ev.version))
    return missing("version", "an integer");
  auto* data = o->if_contains("data");
  if (data && data->is_null()) {
    // Go's encoding/json writes a nil map as null: no data.
    ev.data = json::object{};
  } else {
    if (!data || !data->is_object())
      return missing("data", "an object");
    ev.data = *data;
  }
  if (auto* md = o->if_contains("metadata")) {
    if (md->is_object()) {
      for (auto& kv : md->get_object()) {
        if (!kv.value().is_string())
          return corrupt("metadata value of \"" + std::string{kv.key()}
                         + "\" is not a string");
        ev.metadata.emplace(std::string{kv.key()},
                            std::string{kv.value().get_string()});
      }
    } else if (!md->is_null()) {
      return missing("metadata", "an object");
    }
  }
  auto t = get_time(*o, "timestamp");
  if (!t)
    return t.error();
  ev.time = *t;
  return ev;
}

std::string encode(const event& ev) {
  return json::serialize(to_json(ev));
}

caf::expected<json::value> parse(std::string_view text,
                                 json::storage_ptr storage) {
  json::parse_options opts;
  opts.max_depth = max_depth;
  json::error_code ec;
  auto v = json::parse(json::string_view{text.data(), text.size()}, ec,
                       std::move(storage), opts);
  if (ec)
    return corrupt("invalid JSON: " + ec.message());
  return v;
}

caf::expected<event> decode_event(std::string_view text) {
  // The tree lives only until the event is built (which copies out of it):
  // one block for all of it instead of an allocation per node.
  unsigned char buf[4096];
  json::monotonic_resource mr{buf, sizeof(buf)};
  auto v = parse(text, &mr);
  if (!v)
    return v.error();
  return event_from_json(*v);
}

json::value to_json(const actor_snapshot& s) {
  json::object o;
  o.emplace("actorId", s.actor_id);
  o.emplace("version", s.version);
  o.emplace("state", s.state);
  o.emplace("timestamp", format_rfc3339(s.time));
  if (s.store_position != 0)
    o.emplace("storePosition", s.store_position);
  if (s.schema_version != 1)
    o.emplace("schemaVersion", s.schema_version);
  return o;
}

caf::expected<actor_snapshot> snapshot_from_json(const json::value& v) {
  auto* o = v.if_object();
  if (!o)
    return corrupt("snapshot is not a JSON object");
  actor_snapshot s;
  auto* actor = get_string(*o, "actorId");
  if (!actor)
    return missing("actorId", "a string");
  s.actor_id = std::string{actor->data(), actor->size()};
  if (!get_int64(*o, "version", s.version))
    return missing("version", "an integer");
  auto* state = o->if_contains("state");
  if (!state)
    return missing("state", "present");
  s.state = *state;
  auto t = get_time(*o, "timestamp");
  if (!t)
    return t.error();
  s.time = *t;
  if (auto* pos = o->if_contains("storePosition")) {
    if (pos->is_uint64())
      s.store_position = pos->get_uint64();
    else if (pos->is_int64() && pos->get_int64() >= 0)
      s.store_position = static_cast<uint64_t>(pos->get_int64());
    else
      return missing("storePosition", "a non-negative integer");
  }
  if (o->if_contains("schemaVersion")) {
    if (!get_int64(*o, "schemaVersion", s.schema_version)
        || s.schema_version < 1)
      return missing("schemaVersion", "a positive integer");
  }
  return s;
}

std::string encode(const actor_snapshot& s) {
  return json::serialize(to_json(s));
}

caf::expected<actor_snapshot> decode_snapshot(std::string_view text) {
  auto v = parse(text);
  if (!v)
    return v.error();
  return snapshot_from_json(*v);
}

} // namespace aether::json_codec
