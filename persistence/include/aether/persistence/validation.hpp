#pragma once

#include "aether/persistence/actor_snapshot.hpp"
#include "aether/persistence/event.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace aether {

/// Limits every store applies before it stores anything.
struct store_limits {
  /// Largest encoded event (JSON bytes).
  size_t max_event_bytes = 1024 * 1024;
  /// Largest encoded snapshot (JSON bytes).
  size_t max_snapshot_bytes = 1024 * 1024;
};

/// Rules (each failure is `persistence_error::invalid_argument` with a
/// description naming the field and the rule):
/// - actor id: non-empty, at most 255 bytes, printable ASCII without
///   whitespace, `*` or `>`;
/// - event type: non-empty, at most 1024 bytes;
/// - tags (metadata `tags`): each 1 to `max_tag_bytes` bytes of printable
///   ASCII without whitespace or ',';
/// - version: positive;
/// - data: a JSON object; every number finite; nesting at most
///   `max_data_depth` levels;
/// - the encoded event or snapshot fits the configured size limit.
constexpr size_t max_actor_id_bytes = 255;
constexpr size_t max_event_type_bytes = 1024;
constexpr size_t max_data_depth = 128;
constexpr size_t max_tag_bytes = 128;

caf::error validate_actor_id(std::string_view actor_id);

/// Checks one tag (see `event::set_tags`).
caf::error validate_tag(std::string_view tag);

/// Checks one event's fields (not its size; see `prepare_events`).
caf::error validate_event(const event& ev);

/// Checks a snapshot's fields (not its size).
caf::error validate_snapshot(const actor_snapshot& s);

/// What a store does before a batch append: fills in missing ids and
/// timestamps, validates every event, sorts and deduplicates its tags, checks
/// that the batch is non-empty, belongs to one actor and has contiguous
/// versions, and encodes each event with the JSON codec while checking the size
/// limit. Returns the encodings in batch order.
caf::expected<std::vector<std::string>>
prepare_events(std::vector<event>& batch, const store_limits& limits);

/// The same for a snapshot: fills in a missing timestamp, validates, encodes
/// and checks the size limit.
caf::expected<std::string> prepare_snapshot(actor_snapshot& s,
                                            const store_limits& limits);

} // namespace aether
