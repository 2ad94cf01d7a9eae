#include "aether/projections/sqlite_offset_store.hpp"

#include "offset_table.hpp"

#include <sqlite3.h>

namespace aether {

caf::expected<std::unique_ptr<sqlite_offset_store>>
sqlite_offset_store::open(const std::string& path,
                          std::chrono::milliseconds busy_timeout) {
  auto db = detail::open_offset_database(path, busy_timeout);
  if (!db)
    return db.error();
  return std::unique_ptr<sqlite_offset_store>{new sqlite_offset_store(*db)};
}

sqlite_offset_store::sqlite_offset_store(sqlite3* db) : db_(db) {
  // nop
}

sqlite_offset_store::~sqlite_offset_store() {
  sqlite3_close(db_);
}

caf::expected<std::vector<stored_offset>>
sqlite_offset_store::load(const std::string& projection) {
  std::lock_guard<std::mutex> guard{mtx_};
  return detail::load_offsets(db_, projection);
}

caf::error sqlite_offset_store::save(const std::string& projection,
                                     const stored_offset& offset) {
  std::lock_guard<std::mutex> guard{mtx_};
  return detail::save_offset(db_, projection, offset);
}

caf::error sqlite_offset_store::drop(const std::string& projection) {
  std::lock_guard<std::mutex> guard{mtx_};
  return detail::drop_offsets(db_, projection);
}

} // namespace aether
