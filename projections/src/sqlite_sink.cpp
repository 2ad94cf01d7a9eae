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
  // Optimistic: every group in one transaction without savepoints. When a
  // handler fails at group i, roll the whole transaction back and run
  // groups 0 .. i-1 again in a new one, so that they commit with the offset
  // just before group i and nothing of group i stays.
  auto first = run(from, groups, groups.size(), end);
  if (!first.err || !first.handler_failed || first.failed_at == 0)
    return first;
  auto failed_at = first.failed_at;
  auto again = run(from, groups, failed_at, groups[failed_at - 1].position);
  if (again.err) // failed differently the second time
    return again;
  again.err = std::move(first.err);
  again.handler_failed = true;
  again.failed_at = failed_at;
  return again;
}

projection_sink::outcome sqlite_sink::run(const stored_offset& from,
                                          const std::vector<group>& groups,
                                          size_t count, int64_t end) {
  outcome out;
  out.offset = from.position;
  // A rollback that failed earlier may have left a transaction open.
  if (sqlite3_get_autocommit(db_) == 0)
    exec_sql(db_, "ROLLBACK", "cannot roll back");
  if (auto err = exec_sql(db_, "BEGIN IMMEDIATE", "cannot begin")) {
    out.err = std::move(err);
    return out;
  }
  auto abort = [&](caf::error err) {
    exec_sql(db_, "ROLLBACK", "cannot roll back");
    if (!out.err)
      out.err = std::move(err);
    return std::move(out);
  };
  // Nothing is stored before the commit: `handled` stays 0 until then.
  for (size_t i = 0; i < count; ++i) {
    for (auto* x : groups[i].events) {
      if (auto err = contained_call("the projection's handler", [&] {
            return f_(db_, *x);
          })) {
        out.handler_failed = true;
        out.failed_at = i;
        return abort(std::move(err));
      }
    }
  }
  auto x = from;
  x.position = end;
  if (end != from.position)
    if (auto err = save_offset(db_, name_, x))
      return abort(std::move(err));
  if (auto err = exec_sql(db_, "COMMIT", "cannot commit"))
    return abort(std::move(err));
  out.handled = count;
  out.offset = end;
  stored_ = end;
  return out;
}

caf::error sqlite_sink::save(const stored_offset& offset) {
  if (auto err = save_offset(db_, name_, offset))
    return err;
  stored_ = offset.position;
  return caf::none;
}

caf::error sqlite_sink::flush() {
  return caf::none; // every commit is stored before `handle` returns
}

int64_t sqlite_sink::stored() const {
  return stored_.load();
}

} // namespace aether::detail
