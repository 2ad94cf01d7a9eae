#include "sqlite_connection.hpp"

#include "aether/core/error.hpp"

#include <filesystem>
#include <thread>

namespace aether::detail {

sqlite_connection::sqlite_connection(sqlite3* db, std::string path)
  : db_(db), path_(std::move(path)) {
  // nop
}

sqlite_connection::~sqlite_connection() {
  for (auto& kv : statements_)
    sqlite3_finalize(kv.second);
  sqlite3_close_v2(db_);
}

caf::expected<std::unique_ptr<sqlite_connection>>
sqlite_connection::open(const std::string& path,
                        std::chrono::milliseconds busy_timeout, bool full_sync,
                        access how) {
  sqlite3* db = nullptr;
  auto read_only = how == access::read_only;
  auto flags = (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE)
               | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI;
  if (how == access::create) {
    flags |= SQLITE_OPEN_CREATE;
  } else if (path.rfind("file:", 0) != 0) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
      return make_persistence_error(persistence_error::not_found,
                                    "SQLite database \"" + path
                                      + (std::filesystem::exists(path, ec)
                                           ? "\" is not a file"
                                           : "\" does not exist"));
  }
  auto rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return make_persistence_error(persistence_error::store_failure,
                                  "cannot open SQLite database \"" + path
                                    + "\": " + msg
                                    + " (does its folder exist?)");
  }
  std::unique_ptr<sqlite_connection> conn{new sqlite_connection(db, path)};
  if (!read_only && sqlite3_db_readonly(db, "main") == 1)
    return make_persistence_error(persistence_error::store_failure,
                                  "SQLite database \"" + path
                                    + "\" is read-only");
  sqlite3_busy_timeout(db, static_cast<int>(busy_timeout.count()));
  sqlite3_extended_result_codes(db, 1);
  // Without `create`, a database that is not an aether store (no schema
  // version) is refused before anything (such as WAL mode) is written to it.
  if (how != access::create) {
    auto version = conn->schema_version();
    if (!version)
      return version.error();
    if (*version == 0)
      return make_persistence_error(
        persistence_error::store_failure,
        "SQLite database \"" + path
          + "\" is not an aether store (it has no aether schema; opened "
            "without creating one)");
  }
  if (read_only)
    return conn;
  // Switching to WAL needs a moment of exclusive access, and SQLite answers
  // SQLITE_BUSY at once (no busy handler) while another process opens the
  // same new file: retry within the busy timeout.
  auto deadline = std::chrono::steady_clock::now() + busy_timeout;
  for (;;) {
    auto err = conn->exec("PRAGMA journal_mode=WAL");
    if (!err)
      break;
    if (!is(err, persistence_error::unavailable)
        || std::chrono::steady_clock::now() >= deadline)
      return err;
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
  if (auto err = conn->exec(full_sync ? "PRAGMA synchronous=FULL"
                                      : "PRAGMA synchronous=NORMAL"))
    return err;
  return conn;
}

caf::expected<int64_t> sqlite_connection::schema_version() {
  auto stmt = prepare("PRAGMA user_version");
  if (!stmt)
    return stmt.error();
  int64_t version = 0;
  sqlite_statement q{*stmt};
  auto rc = q.step();
  if (rc == SQLITE_ROW)
    version = q.column_int64(0);
  else if (rc != SQLITE_DONE)
    return make_error(rc, "cannot read the schema version");
  return version;
}

caf::error sqlite_connection::exec(const char* sql) {
  char* errmsg = nullptr;
  auto rc = sqlite3_exec(db_, sql, nullptr, nullptr, &errmsg);
  if (rc == SQLITE_OK)
    return caf::none;
  std::string what = std::string{"SQLite statement \""} + sql + "\" failed";
  sqlite3_free(errmsg);
  return make_error(rc, what);
}

caf::expected<sqlite3_stmt*> sqlite_connection::prepare(const char* sql) {
  auto i = statements_.find(sql);
  if (i != statements_.end())
    return i->second;
  sqlite3_stmt* stmt = nullptr;
  auto rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt,
                               nullptr);
  if (rc != SQLITE_OK)
    return make_error(rc, std::string{"cannot prepare \""} + sql + "\"");
  statements_.emplace(sql, stmt);
  return stmt;
}

caf::error sqlite_connection::make_error(int rc,
                                         const std::string& what) const {
  std::string text = what + " on \"" + path_ + "\": " + sqlite3_errmsg(db_);
  switch (rc & 0xFF) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return make_persistence_error(persistence_error::unavailable,
                                    text
                                      + " (the database is locked by "
                                        "another connection)");
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return make_persistence_error(persistence_error::corrupt_data, text);
    default:
      return make_persistence_error(persistence_error::store_failure, text);
  }
}

} // namespace aether::detail
