#include "offset_table.hpp"

#include "aether/core/error.hpp"

#include <sqlite3.h>

namespace aether::detail {

namespace {

caf::error sqlite_failure(sqlite3* db, const std::string& what) {
  auto rc = sqlite3_extended_errcode(db);
  auto code = (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED
                ? persistence_error::unavailable
                : persistence_error::store_failure;
  return make_persistence_error(code, what + ": " + sqlite3_errmsg(db));
}

/// A prepared statement, finalized on scope exit.
struct statement {
  sqlite3_stmt* stmt = nullptr;
  ~statement() {
    sqlite3_finalize(stmt);
  }
};

} // namespace

caf::error exec_sql(sqlite3* db, const char* sql, const std::string& what) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK)
    return sqlite_failure(db, what);
  return caf::none;
}

caf::expected<sqlite3*> open_offset_database(const std::string& path,
                                             std::chrono::milliseconds busy) {
  sqlite3* db = nullptr;
  auto rc = sqlite3_open_v2(
    path.c_str(), &db,
    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    auto err = make_persistence_error(
      persistence_error::store_failure,
      "cannot open projection database \"" + path
        + "\": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
    sqlite3_close(db);
    return err;
  }
  sqlite3_busy_timeout(db, static_cast<int>(busy.count()));
  auto err = exec_sql(db,
                      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                      "CREATE TABLE IF NOT EXISTS aether_projection_offsets ("
                      "projection TEXT NOT NULL, worker INTEGER NOT NULL, "
                      "workers INTEGER NOT NULL, position INTEGER NOT NULL, "
                      "PRIMARY KEY (projection, worker)) WITHOUT ROWID",
                      "cannot prepare projection database \"" + path + "\"");
  if (err) {
    sqlite3_close(db);
    return err;
  }
  return db;
}

caf::expected<std::vector<stored_offset>>
load_offsets(sqlite3* db, const std::string& projection) {
  statement q;
  if (sqlite3_prepare_v2(db,
                         "SELECT worker, workers, position FROM "
                         "aether_projection_offsets WHERE projection = ?1 "
                         "ORDER BY worker",
                         -1, &q.stmt, nullptr)
      != SQLITE_OK)
    return sqlite_failure(db, "cannot read projection offsets");
  sqlite3_bind_text(q.stmt, 1, projection.data(),
                    static_cast<int>(projection.size()), SQLITE_STATIC);
  std::vector<stored_offset> out;
  int rc;
  while ((rc = sqlite3_step(q.stmt)) == SQLITE_ROW)
    out.push_back(
      stored_offset{static_cast<size_t>(sqlite3_column_int64(q.stmt, 0)),
                    static_cast<size_t>(sqlite3_column_int64(q.stmt, 1)),
                    sqlite3_column_int64(q.stmt, 2)});
  if (rc != SQLITE_DONE)
    return sqlite_failure(db, "cannot read projection offsets");
  return out;
}

caf::error save_offset(sqlite3* db, const std::string& projection,
                       const stored_offset& x) {
  statement q;
  if (sqlite3_prepare_v2(
        db,
        "INSERT INTO aether_projection_offsets (projection, worker, workers, "
        "position) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (projection, worker) "
        "DO UPDATE SET workers = excluded.workers, "
        "position = excluded.position",
        -1, &q.stmt, nullptr)
      != SQLITE_OK)
    return sqlite_failure(db, "cannot store a projection offset");
  sqlite3_bind_text(q.stmt, 1, projection.data(),
                    static_cast<int>(projection.size()), SQLITE_STATIC);
  sqlite3_bind_int64(q.stmt, 2, static_cast<sqlite3_int64>(x.worker));
  sqlite3_bind_int64(q.stmt, 3, static_cast<sqlite3_int64>(x.workers));
  sqlite3_bind_int64(q.stmt, 4, x.position);
  if (sqlite3_step(q.stmt) != SQLITE_DONE)
    return sqlite_failure(db, "cannot store a projection offset");
  return caf::none;
}

caf::error drop_offsets(sqlite3* db, const std::string& projection) {
  statement q;
  if (sqlite3_prepare_v2(
        db, "DELETE FROM aether_projection_offsets WHERE projection = ?1", -1,
        &q.stmt, nullptr)
      != SQLITE_OK)
    return sqlite_failure(db, "cannot drop projection offsets");
  sqlite3_bind_text(q.stmt, 1, projection.data(),
                    static_cast<int>(projection.size()), SQLITE_STATIC);
  if (sqlite3_step(q.stmt) != SQLITE_DONE)
    return sqlite_failure(db, "cannot drop projection offsets");
  return caf::none;
}

} // namespace aether::detail
