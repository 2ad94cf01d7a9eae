#include "sqlite_sink.hpp"

#include "contained_call.hpp"
#include "offset_table.hpp"

#include <sqlite3.h>

namespace aether::detail {

caf::expected<std::unique_ptr<sqlite_sink>>
sqlite_sink::open(std::string name, const std::string& path,
                  projection::sqlite_handler f) {
  auto db = open_offset_database(path, std::chrono::seconds{5});
  if (!db)
    return db.error();
  return std::unique_ptr<sqlite_sink>{
    new sqlite_sink(std::move(name), *db, std::move(f))};
}

sqlite_sink::sqlite_sink(std::string name, sqlite3* db,
                         projection::sqlite_handler f)
  : name_(std::move(name)), db_(db), f_(std::move(f)) {
  // nop
}

sqlite_sink::~sqlite_sink() {
  sqlite3_close(db_);
}

caf::expected<std::vector<stored_offset>> sqlite_sink::load() {
  return load_offsets(db_, name_);
}

projection_sink::outcome sqlite_sink::handle(const stored_offset& from,
                                             const std::vector<group>& groups,
                                             int64_t end) {
  outcome out;
  out.offset = from.position;
  if (auto err = exec_sql(db_, "BEGIN IMMEDIATE", "cannot begin")) {
    out.err = std::move(err);
    return out;
  }
  auto rollback = [&] {
    exec_sql(db_, "ROLLBACK", "cannot roll back");
  };
  for (; out.handled < groups.size(); ++out.handled) {
    auto& g = groups[out.handled];
    if (auto err = exec_sql(db_, "SAVEPOINT aether_event", "cannot save")) {
      rollback();
      out.handled = 0;
      out.err = std::move(err);
      return out;
    }
    for (auto& ev : g.events) {
      positioned_event x{g.position, ev};
      out.err = contained_call("the projection's handler", [&] {
        return f_(db_, x);
      });
      if (out.err)
        break;
    }
    if (out.err) {
      // Undo what this event wrote; keep the events before it.
      if (exec_sql(db_, "ROLLBACK TO aether_event", "cannot roll back")) {
        rollback();
        out.handled = 0;
        return out;
      }
    }
    exec_sql(db_, "RELEASE aether_event", "cannot release");
    if (out.err)
      break;
  }
  auto offset = out.err ? (out.handled > 0 ? groups[out.handled - 1].position
                                           : from.position)
                        : end;
  auto x = from;
  x.position = offset;
  caf::error err;
  if (offset != from.position)
    err = save_offset(db_, name_, x);
  if (!err)
    err = exec_sql(db_, "COMMIT", "cannot commit");
  if (err) {
    rollback();
    out.handled = 0;
    if (!out.err)
      out.err = std::move(err);
    return out;
  }
  out.offset = offset;
  return out;
}

caf::error sqlite_sink::save(const stored_offset& offset) {
  return save_offset(db_, name_, offset);
}

} // namespace aether::detail
