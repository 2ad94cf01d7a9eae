#pragma once

#include "aether/core/time.hpp"

#include <boost/json/value.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace aether {

/// String metadata attached to an event.
using event_metadata = std::map<std::string, std::string>;

/// Well-known metadata keys (the names the Go aether uses).
namespace metadata_keys {
constexpr const char correlation_id[] = "correlationId";
constexpr const char causation_id[] = "causationId";
constexpr const char user_id[] = "userId";
constexpr const char trace_id[] = "traceId";
constexpr const char span_id[] = "spanId";
/// The version of the event's schema (a decimal string; absent: 1). Set by
/// `event_upcasters::stamp`; see `event_upcasters`.
constexpr const char schema_version[] = "schemaVersion";
/// The event's tags, comma-separated, sorted, without duplicates (see
/// `event::tags`). Stores index them for `event_store::events_by_tag`.
constexpr const char tags[] = "tags";
} // namespace metadata_keys

/// One stored fact about an actor. Versions start at 1 and are contiguous
/// per actor.
struct event {
  /// Unique id (a UUID); `prepare_event` generates one when empty.
  std::string id;
  /// The event's type, e.g. "deposited". Must not be empty.
  std::string type;
  /// The actor the event belongs to.
  std::string actor_id;
  /// The command that caused the event; empty if none.
  std::string command_id;
  /// Position in the actor's history; the first event is 1.
  int64_t version = 0;
  /// The payload; must be a JSON object.
  boost::json::value data = boost::json::object{};
  /// String metadata (see `metadata_keys`).
  event_metadata metadata;
  /// When the event was created (UTC).
  timestamp time;

  // -- metadata helpers -------------------------------------------------------

  /// Returns the value stored under `key`, or an empty string.
  const std::string& get_metadata(const std::string& key) const;

  /// Stores `value` under `key` (an empty value removes the key).
  void set_metadata(const std::string& key, std::string value);

  const std::string& correlation_id() const;
  void set_correlation_id(std::string value);
  const std::string& causation_id() const;
  void set_causation_id(std::string value);
  const std::string& user_id() const;
  void set_user_id(std::string value);
  const std::string& trace_id() const;
  void set_trace_id(std::string value);
  const std::string& span_id() const;
  void set_span_id(std::string value);

  /// Copies the metadata of `cause` into this event and links the two: the
  /// correlation id is kept (or started from the cause's id) and the causation
  /// id becomes the cause's id.
  void copy_metadata_from(const event& cause);

  /// The event's tags (metadata `tags`), sorted; empty when it has none.
  std::vector<std::string> tags() const;

  /// Replaces the event's tags (sorted and deduplicated; none removes the
  /// key). A tag is 1 to 128 bytes of printable ASCII without whitespace
  /// and without ','; `validate_event` refuses an event that breaks it.
  void set_tags(std::vector<std::string> tags);
};

bool operator==(const event& x, const event& y);
bool operator!=(const event& x, const event& y);

/// Creates an event with a fresh id and the current time.
event make_event(std::string type, std::string actor_id, int64_t version,
                 boost::json::value data = boost::json::object{});

} // namespace aether
