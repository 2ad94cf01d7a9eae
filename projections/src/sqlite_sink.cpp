#include "sqlite_sink.hpp"

#include "offset_table.hpp"

#include <sqlite3.h>

namespace aether::detail {

caf::expected<std::unique_ptr<sqlite_sink>>
sqlite_sink::open(std::string name, const std::string& path, handler_calls f) {
  auto db = open_offset_database(path, std::chrono::seconds{5});
  if (!db)
    return db.error();
  return std::unique_ptr<sqlite_sink>{
    new sqlite_sink(std::move(name), *db, std::move(f))};
}

sqlite_sink::sqlite_sink(std::string name, sqlite3* db, handler_calls f)
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
                                             const read& r, int64_t end) {
  if (!f_.batched() || r.groups.size() < 2)
    return handle_each(from, r, end);
  auto whole = run(from, r, r.groups.size(), end, true);
  if (!whole.err || !whole.handler_failed)
    return whole;
  // The batch failed and was rolled back: find the event that fails by
  // handing them over one stored event per call (the failed batch counts
  // as a failure of its own).
  auto each = handle_each(from, r, end);
  each.failures += 1;
  return each;
}

projection_sink::outcome sqlite_sink::handle_each(const stored_offset& from,
                                                  const read& r, int64_t end) {
  // Optimistic: every group in one transaction without savepoints. When a
  // handler fails at group i, roll the whole transaction back and run
  // groups 0 .. i-1 again in a new one, so that they commit with the offset
  // just before group i and nothing of group i stays.
  auto first = run(from, r, r.groups.size(), end, false);
  if (!first.err || !first.handler_failed || first.failed_at == 0)
    return first;
  auto failed_at = first.failed_at;
  auto again = run(from, r, failed_at, r.groups[failed_at - 1].position, false);
  if (again.err) // failed differently the second time
    return again;
  again.err = std::move(first.err);
  again.handler_failed = true;
  again.failed_at = failed_at;
  return again;
}

projection_sink::outcome sqlite_sink::run(const stored_offset& from,
                                          const read& r, size_t count,
                                          int64_t end, bool whole) {
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
  if (auto failed = f_.run(db_, r, count, whole); failed.err) {
    out.handler_failed = true;
    out.failed_at = failed.at;
    return abort(std::move(failed.err));
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
