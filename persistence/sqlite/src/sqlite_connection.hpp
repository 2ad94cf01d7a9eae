#pragma once

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <sqlite3.h>
#include <string>
#include <string_view>
#include <unordered_map>

namespace aether::detail {

/// A prepared statement, reset when the guard goes out of scope.
class sqlite_statement {
public:
  explicit sqlite_statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~sqlite_statement() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  sqlite_statement(const sqlite_statement&) = delete;
  sqlite_statement& operator=(const sqlite_statement&) = delete;

  void bind(int i, int64_t x) {
    sqlite3_bind_int64(stmt_, i, x);
  }
  void bind(int i, std::string_view x) {
    sqlite3_bind_blob(stmt_, i, x.data(), static_cast<int>(x.size()),
                      SQLITE_STATIC);
  }
  void bind_text(int i, std::string_view x) {
    sqlite3_bind_text(stmt_, i, x.data(), static_cast<int>(x.size()),
                      SQLITE_STATIC);
  }
  /// Returns SQLITE_ROW, SQLITE_DONE or an error code.
  int step() {
    return sqlite3_step(stmt_);
  }
  int64_t column_int64(int i) {
    return sqlite3_column_int64(stmt_, i);
  }
  std::string_view column_blob(int i) {
    auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, i));
    auto n = sqlite3_column_bytes(stmt_, i);
    return p ? std::string_view{p, static_cast<size_t>(n)} : std::string_view{};
  }

private:
  sqlite3_stmt* stmt_;
};

/// One SQLite connection with its cached prepared statements. Not
/// thread-safe: callers hold `mtx`.
class sqlite_connection {
public:
  ~sqlite_connection();

  /// How a connection opens its file.
  enum class access {
    /// Read-write, creating the file if missing.
    create,
    /// Read-write; a missing file is `not_found`, a database without
    /// aether's schema `store_failure`.
    existing,
    /// Read-only (as `existing` otherwise); nothing is ever written, not
    /// even WAL mode.
    read_only,
  };

  /// Opens `path` as `how` says, sets WAL mode (unless read-only), the busy
  /// timeout and the sync level.
  static caf::expected<std::unique_ptr<sqlite_connection>>
  open(const std::string& path, std::chrono::milliseconds busy_timeout,
       bool full_sync, access how = access::create);

  /// The database's `PRAGMA user_version` (0: no aether schema).
  caf::expected<int64_t> schema_version();

  /// Runs one or more statements without results.
  caf::error exec(const char* sql);

  /// Returns the cached prepared statement for `sql`.
  caf::expected<sqlite3_stmt*> prepare(const char* sql);

  /// Maps a SQLite result code to a persistence error with `what` as the
  /// description prefix.
  caf::error make_error(int rc, const std::string& what) const;

  sqlite3* handle() const {
    return db_;
  }

  std::mutex mtx;

private:
  sqlite_connection(sqlite3* db, std::string path);

  sqlite3* db_;
  std::string path_;
  std::unordered_map<const char*, sqlite3_stmt*> statements_;
};

} // namespace aether::detail
