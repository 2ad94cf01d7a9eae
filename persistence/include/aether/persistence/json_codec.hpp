#pragma once

#include "aether/persistence/actor_snapshot.hpp"
#include "aether/persistence/event.hpp"

#include <boost/json/value.hpp>
#include <caf/expected.hpp>
#include <string>
#include <string_view>

namespace aether {

/// The project's one JSON codec for events and snapshots.
///
/// Events use the Go aether's field names so both can read each other's
/// data: `id, eventType, actorId, commandId (omitted if empty), version, data,
/// metadata (omitted if empty), timestamp` (RFC 3339 with sub-second digits).
/// Snapshots: `actorId, version, state, timestamp` plus `storePosition` when a
/// store recorded one. Integers round-trip as integers.
///
/// Decoding is strict about the fields it needs and ignores unknown fields.
/// Errors are `persistence_error::corrupt_data` naming the field.
namespace json_codec {

/// Maximum nesting depth accepted by the decoders.
constexpr size_t max_depth = 160;

boost::json::value to_json(const event& ev);
caf::expected<event> event_from_json(const boost::json::value& v);
std::string encode(const event& ev);
caf::expected<event> decode_event(std::string_view text);

boost::json::value to_json(const actor_snapshot& s);
caf::expected<actor_snapshot> snapshot_from_json(const boost::json::value& v);
std::string encode(const actor_snapshot& s);
caf::expected<actor_snapshot> decode_snapshot(std::string_view text);

/// Parses any JSON text with the codec's limits (depth, no comments), into
/// `storage` (the default: the heap; a `monotonic_resource` for a tree that
/// is read once and thrown away).
caf::expected<boost::json::value> parse(std::string_view text,
                                        boost::json::storage_ptr storage = {});

} // namespace json_codec

} // namespace aether
