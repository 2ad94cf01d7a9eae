#pragma once

#include "sqlite_connection.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace aether::detail {

/// Creates aether's schema in an empty database, or upgrades an older
/// version of it, to `version`; call it inside a write transaction.
///
/// Version 2 adds each event's position in the global order (column
/// `events.position`, unique), the tag index `event_tags` and the position
/// counter `positions`. An upgrade from version 1 numbers the stored events
/// in (actor id, version) order, since their commit order is not known, and
/// indexes the tags they carry. Version 3 keys the events table by position
/// (`position INTEGER PRIMARY KEY`) with a unique index on (actor id,
/// version); an upgrade copies the events over. Any `version` above the
/// stored one ends at the current layout.
caf::error create_or_upgrade_schema(sqlite_connection& w, int64_t from_version,
                                    int64_t version);

/// Indexes the event at `position` under each of `tags`.
caf::error index_tags(sqlite_connection& w, int64_t position,
                      const std::vector<std::string>& tags);

/// The position counter: the newest position handed out.
caf::expected<int64_t> read_position_counter(sqlite_connection& conn);

/// The highest position in the events table (0 when it is empty).
caf::expected<int64_t> read_highest_position(sqlite_connection& conn);

/// Stores the position counter (inside the write transaction).
caf::error write_position_counter(sqlite_connection& w, int64_t position);

} // namespace aether::detail
