#include "aether/runtime/event_stored.hpp"

#include "aether/core/error.hpp"
#include "aether/core/time.hpp"
#include "aether/core/uuid.hpp"

#include <boost/json.hpp>

namespace aether {

event make_event_stored(const std::string& ns, const event& stored) {
  event n;
  n.id = make_uuid();
  n.type = event_stored_type;
  n.actor_id = stored.actor_id;
  n.version = stored.version;
  n.time = stored.time;
  n.command_id = stored.command_id;
  n.metadata = stored.metadata;
  boost::json::object data;
  data["eventId"] = stored.id;
  data["eventType"] = stored.type;
  data["actorId"] = stored.actor_id;
  data["version"] = stored.version;
  data["timestamp"] = format_rfc3339(stored.time);
  data["namespace"] = ns;
  n.data = std::move(data);
  return n;
}

caf::expected<event_stored_info> read_event_stored(const event& n) {
  auto bad = [](const std::string& what) {
    return make_persistence_error(persistence_error::invalid_argument,
                                  "EventStored: " + what);
  };
  if (n.type != event_stored_type)
    return bad("eventType must be \"EventStored\"");
  auto* obj = n.data.if_object();
  if (!obj)
    return bad("data must be an object");
  auto str = [&](const char* key) -> const boost::json::string* {
    auto* v = obj->if_contains(key);
    return v ? v->if_string() : nullptr;
  };
  event_stored_info info;
  auto* id = str("eventId");
  auto* type = str("eventType");
  auto* actor = str("actorId");
  auto* ns = str("namespace");
  auto* ts = str("timestamp");
  auto* version = obj->if_contains("version");
  if (!id || id->empty())
    return bad("data.eventId must be a non-empty string");
  if (!type || type->empty())
    return bad("data.eventType must be a non-empty string");
  if (!actor || std::string_view{*actor} != n.actor_id)
    return bad("data.actorId must be the notification's actorId");
  if (!ns)
    return bad("data.namespace must be a string");
  if (!version || !version->is_int64() || version->as_int64() != n.version
      || n.version < 1)
    return bad("data.version must be the notification's version (>= 1)");
  if (!ts)
    return bad("data.timestamp must be an RFC 3339 string");
  auto t = parse_rfc3339(std::string_view{ts->data(), ts->size()});
  if (!t)
    return bad("data.timestamp must be an RFC 3339 string");
  info.event_id = std::string{*id};
  info.event_type = std::string{*type};
  info.actor_id = n.actor_id;
  info.version = n.version;
  info.time = *t;
  info.ns = std::string{*ns};
  return info;
}

} // namespace aether
