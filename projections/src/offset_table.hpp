#pragma once

#include "aether/projections/offset_store.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <chrono>
#include <string>
#include <vector>

struct sqlite3;

// The table `aether_projection_offsets (projection, worker, workers,
// position)` in a SQLite file, shared by sqlite_offset_store and the
// exactly-once sink (which writes it inside the read model's transaction).
namespace aether::detail {

/// Opens `path` (creating it) in WAL mode with `synchronous=FULL` and the
/// busy timeout, and creates the offsets table.
caf::expected<sqlite3*> open_offset_database(const std::string& path,
                                             std::chrono::milliseconds busy);

/// Runs statements without results; the error names `what`.
caf::error exec_sql(sqlite3* db, const char* sql, const std::string& what);

caf::expected<std::vector<stored_offset>>
load_offsets(sqlite3* db, const std::string& projection);

caf::error save_offset(sqlite3* db, const std::string& projection,
                       const stored_offset& x);

caf::error drop_offsets(sqlite3* db, const std::string& projection);

} // namespace aether::detail
