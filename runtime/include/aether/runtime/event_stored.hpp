#pragma once

#include "aether/persistence/event.hpp"

#include <caf/expected.hpp>
#include <cstdint>
#include <string>

namespace aether {

/// The event type of the notification a persistent actor publishes after
/// each stored event.
inline constexpr const char event_stored_type[] = "EventStored";

/// What an `EventStored` notification says.
struct event_stored_info {
  std::string event_id;
  std::string event_type;
  std::string actor_id;
  int64_t version = 0;
  timestamp time;
  std::string ns;
};

/// Builds the notification for `stored` (published into namespace `ns`):
/// an event of type `EventStored` whose actor id and version are those of
/// the stored event (so actor filters and gap detection work on it) and
/// whose data is `{"eventId", "eventType", "actorId", "version",
/// "timestamp", "namespace"}`.
event make_event_stored(const std::string& ns, const event& stored);

/// Reads a notification; fails with `invalid_argument` naming the field if
/// it is not a well-formed `EventStored` event.
caf::expected<event_stored_info> read_event_stored(const event& notification);

} // namespace aether
