#include "aether/sqlite/sqlite_store.hpp"

#include "aether/core/error.hpp"
#include "aether/persistence/json_codec.hpp"
#include "sqlite_connection.hpp"
#include "sqlite_schema.hpp"

#include <algorithm>
#include <future>
#include <limits>
#include <optional>

namespace aether {

using detail::sqlite_connection;
using detail::sqlite_statement;

namespace {

constexpr const char* latest_sql
  = "SELECT latest FROM actors WHERE actor_id = ?1";
constexpr const char* insert_event_sql
  = "INSERT INTO events (actor_id, version, body, position) "
    "VALUES (?1, ?2, ?3, ?4)";
constexpr const char* delete_tags_sql
  = "DELETE FROM event_tags WHERE position IN (SELECT position FROM events "
    "WHERE actor_id = ?1 AND version <= ?2)";
constexpr const char* upsert_latest_sql
  = "INSERT INTO actors (actor_id, latest) VALUES (?1, ?2) "
    "ON CONFLICT (actor_id) DO UPDATE SET latest = excluded.latest";
constexpr const char* read_events_sql
  = "SELECT version, body FROM events WHERE actor_id = ?1 AND version >= ?2 "
    "AND version <= ?3 ORDER BY version LIMIT ?4";
constexpr const char* delete_events_sql
  = "DELETE FROM events WHERE actor_id = ?1 AND version <= ?2";
constexpr const char* upsert_snapshot_sql
  = "INSERT INTO snapshots (actor_id, version, time_ns, body) "
    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (actor_id, version) DO UPDATE SET "
    "time_ns = excluded.time_ns, body = excluded.body";
constexpr const char* latest_snapshot_sql
  = "SELECT version, body FROM snapshots WHERE actor_id = ?1 "
    "AND version >= ?2 AND version <= ?3 AND time_ns >= ?4 AND time_ns <= ?5 "
    "ORDER BY version DESC LIMIT 1";
constexpr const char* delete_snapshots_sql
  = "DELETE FROM snapshots WHERE actor_id = ?1 AND version >= ?2 "
    "AND version <= ?3 AND time_ns >= ?4 AND time_ns <= ?5";

int64_t ns(timestamp t) {
  return t.time_since_epoch().count();
}

/// Rolls back unless committed.
class transaction {
public:
  explicit transaction(sqlite_connection& c) : conn_(c) {}
  ~transaction() {
    if (open_)
      conn_.exec("ROLLBACK");
  }
  caf::error begin() {
    if (auto err = conn_.exec("BEGIN IMMEDIATE"))
      return err;
    open_ = true;
    return caf::none;
  }
  caf::error commit() {
    auto err = conn_.exec("COMMIT");
    if (!err)
      open_ = false;
    return err;
  }

private:
  sqlite_connection& conn_;
  bool open_ = false;
};

caf::expected<int64_t> read_latest(sqlite_connection& conn,
                                   const std::string& actor_id) {
  auto stmt = conn.prepare(latest_sql);
  if (!stmt)
    return stmt.error();
  sqlite_statement q{*stmt};
  q.bind_text(1, actor_id);
  auto rc = q.step();
  if (rc == SQLITE_ROW)
    return q.column_int64(0);
  if (rc == SQLITE_DONE)
    return int64_t{0};
  return conn.make_error(rc, "cannot read the latest version");
}

} // namespace

sqlite_store::sqlite_store(options opts,
                           std::unique_ptr<sqlite_connection> writer,
                           std::unique_ptr<sqlite_connection> reader)
  : opts_(std::move(opts)), writer_(std::move(writer)),
    reader_(std::move(reader)) {
  if (opts_.max_group_size == 0)
    opts_.max_group_size = 1;
  writer_thread_ = std::thread{[this] {
    run_writer();
  }};
}

sqlite_store::~sqlite_store() {
  {
    std::lock_guard<std::mutex> guard{group_mtx_};
    stop_writer_ = true;
  }
  group_cv_.notify_all();
  writer_thread_.join();
}

caf::expected<std::unique_ptr<sqlite_store>>
sqlite_store::open(std::string path) {
  options opts;
  opts.path = std::move(path);
  return open(std::move(opts));
}

caf::expected<std::unique_ptr<sqlite_store>> sqlite_store::open(options opts) {
  // The store opens the file twice (a writer and a reader connection): an
  // in-memory or temporary database would be two different databases.
  auto& p = opts.path;
  if (p.empty() || p == ":memory:"
      || (p.rfind("file:", 0) == 0
          && (p.find("mode=memory") != std::string::npos
              || p.find(":memory:") != std::string::npos)))
    return make_persistence_error(
      persistence_error::invalid_argument,
      "path: must name a file (\"" + p
        + "\" is an in-memory or temporary database, which each of the "
          "store's connections would see as a different, empty database; "
          "use memory_store for a store without a file)");
  if (opts.writer_cache_kib == 0
      || opts.writer_cache_kib
           > static_cast<size_t>(std::numeric_limits<int>::max()))
    return make_persistence_error(
      persistence_error::invalid_argument,
      "writer_cache_kib: must be between 1 and "
        + std::to_string(std::numeric_limits<int>::max()) + " (KiB), not "
        + std::to_string(opts.writer_cache_kib));
  using access = sqlite_connection::access;
  auto how = opts.read_only ? access::read_only
             : opts.create  ? access::create
                            : access::existing;
  auto writer = sqlite_connection::open(opts.path, opts.busy_timeout,
                                        opts.full_sync, how);
  if (!writer)
    return writer.error();
  auto& w = **writer;
  int64_t found_version = schema_version;
  if (opts.read_only) {
    // No transaction (it would take the write lock), and no upgrade: an
    // older store reads as it is (version 1 without the global order).
    auto version = w.schema_version();
    if (!version)
      return version.error();
    if (*version < 1 || *version > schema_version)
      return make_persistence_error(
        persistence_error::store_failure,
        "SQLite database \"" + opts.path + "\" has schema version "
          + std::to_string(*version) + "; read-only, this build reads versions "
          + "1 to " + std::to_string(schema_version) + " only");
    found_version = *version;
  } else {
    // Check and create the schema under the write lock.
    transaction tx{w};
    if (auto err = tx.begin())
      return err;
    auto read_version = w.schema_version();
    if (!read_version)
      return read_version.error();
    auto version = *read_version;
    if (version > schema_version)
      return make_persistence_error(
        persistence_error::store_failure,
        "SQLite database \"" + opts.path + "\" has schema version "
          + std::to_string(version) + ", newer than the supported version "
          + std::to_string(schema_version));
    if (auto err = detail::create_or_upgrade_schema(w, version, schema_version))
      return err;
    if (auto err = tx.commit())
      return err;
    // SQLite's cap is negative for KiB.
    auto cache = "PRAGMA cache_size=-" + std::to_string(opts.writer_cache_kib);
    if (auto err = w.exec(cache.c_str()))
      return err;
  }
  auto reader = sqlite_connection::open(opts.path, opts.busy_timeout,
                                        opts.full_sync, how);
  if (!reader)
    return reader.error();
  auto result = std::unique_ptr<sqlite_store>{
    new sqlite_store(std::move(opts), std::move(*writer), std::move(*reader))};
  result->found_schema_version_ = found_version;
  return result;
}

// Appends run as group commits: callers queue their batches; the writer
// thread stores everything queued (up to `max_group_size` batches) in one
// transaction (a conflict or a bad batch fails alone: see commit_group),
// commits once and then completes each batch. SQLite
// pays its fsync per commit, not per batch; the number of appends that meet
// in one commit is bounded by the callers in flight, not by a thread pool.
struct sqlite_store::pending_append {
  std::vector<event> batch;
  std::vector<std::string> encoded;
  append_callback done;
  /// A snapshot save instead of a batch (its encoding in `encoded[0]`):
  /// it shares the group's transaction and fsync too.
  std::optional<actor_snapshot> snapshot;
};

void sqlite_store::enqueue(pending_ptr p) {
  {
    std::lock_guard<std::mutex> guard{group_mtx_};
    group_queue_.push_back(std::move(p));
  }
  group_cv_.notify_one();
}

void sqlite_store::append(std::vector<event> batch, append_callback done) {
  auto encoded = prepare_events(batch, opts_.limits);
  if (!encoded) {
    done(encoded.error());
    return;
  }
  enqueue(pending_ptr{new pending_append{std::move(batch), std::move(*encoded),
                                         std::move(done), std::nullopt}});
}

caf::expected<append_result> sqlite_store::enqueue_and_wait(pending_append p) {
  std::promise<caf::expected<append_result>> result;
  auto future = result.get_future();
  p.done = [&result](caf::expected<append_result> res) {
    result.set_value(std::move(res));
  };
  enqueue(std::make_unique<pending_append>(std::move(p)));
  return future.get();
}

void sqlite_store::run_writer() {
  for (;;) {
    std::vector<pending_ptr> group;
    {
      std::unique_lock<std::mutex> lock{group_mtx_};
      group_cv_.wait(lock, [this] {
        return stop_writer_ || !group_queue_.empty();
      });
      if (group_queue_.empty())
        return; // stopped, nothing left to store
      auto n = std::min(group_queue_.size(), opts_.max_group_size);
      group.reserve(n);
      for (size_t i = 0; i < n; ++i) {
        group.push_back(std::move(group_queue_.front()));
        group_queue_.pop_front();
      }
    }
    auto results = commit_group(group);
    commits_ += 1;
    appends_ += static_cast<uint64_t>(
      std::count_if(group.begin(), group.end(), [](const pending_ptr& p) {
        return !p->snapshot;
      }));
    if (group.size() > largest_group_)
      largest_group_ = group.size();
    for (size_t i = 0; i < group.size(); ++i)
      group[i]->done(std::move(results[i]));
  }
}

sqlite_store::statistics sqlite_store::stats() const {
  return {commits_.load(), appends_.load(), largest_group_.load()};
}

caf::expected<append_result>
sqlite_store::append_one(detail::sqlite_connection& w,
                         const std::vector<event>& batch,
                         const std::vector<std::string>& encoded,
                         int64_t& head) {
  auto& actor_id = batch.front().actor_id;
  auto latest = read_latest(w, actor_id);
  if (!latest)
    return latest.error();
  if (batch.front().version != *latest + 1)
    return make_version_conflict(actor_id, batch.front().version, *latest);
  auto ins = w.prepare(insert_event_sql);
  if (!ins)
    return ins.error();
  for (size_t i = 0; i < batch.size(); ++i) {
    auto position = ++head;
    sqlite_statement q{*ins};
    q.bind_text(1, actor_id);
    q.bind(2, batch[i].version);
    q.bind(3, std::string_view{encoded[i]});
    q.bind(4, position);
    auto rc = q.step();
    if (rc != SQLITE_DONE)
      return w.make_error(rc, "cannot insert event");
    if (auto err = detail::index_tags(w, position, batch[i].tags()))
      return err;
  }
  auto up = w.prepare(upsert_latest_sql);
  if (!up)
    return up.error();
  sqlite_statement q{*up};
  q.bind_text(1, actor_id);
  q.bind(2, batch.back().version);
  auto rc = q.step();
  if (rc != SQLITE_DONE)
    return w.make_error(rc, "cannot record the latest version");
  return append_result{batch.back().version, 0};
}

std::vector<caf::expected<append_result>>
sqlite_store::commit_group(const std::vector<pending_ptr>& group) {
  // A batch either stores whole or fails on a version conflict, found
  // before its first write: that needs no savepoint, whose statements and
  // page copies cost more than the insert itself. Any other failure (a
  // full disk, a trigger; it may have come after a write, or have ended
  // the transaction) makes the attempt store nothing: the transaction is
  // rolled back and the group stored again with a savepoint per batch.
  if (auto results = commit_attempt(group, false))
    return std::move(*results);
  return std::move(*commit_attempt(group, true));
}

std::optional<std::vector<caf::expected<append_result>>>
sqlite_store::commit_attempt(const std::vector<pending_ptr>& group,
                             bool savepoints) {
  std::vector<caf::expected<append_result>> results;
  results.reserve(group.size());
  std::lock_guard<std::mutex> guard{writer_->mtx};
  auto& w = *writer_;
  // Nothing of the group was stored: successes become `err`, batches that
  // failed alone keep their own error.
  auto fail_all = [&](const caf::error& err) {
    for (auto& r : results)
      if (r)
        r = err;
    results.resize(group.size(), caf::expected<append_result>{err});
    return std::move(results);
  };
  transaction tx{w};
  if (auto err = tx.begin())
    return fail_all(err);
  // Positions come from a stored counter read under the write lock, so two
  // stores on one file number in commit order and never reuse a position
  // (not even one whose event was deleted).
  auto head = detail::read_position_counter(w);
  if (!head)
    return fail_all(head.error());
  // Rows a process of version 1 inserted without a position got the next
  // rowid past the counter: start after them, or every insert would
  // collide with them for good.
  auto highest = detail::read_highest_position(w);
  if (!highest)
    return fail_all(highest.error());
  *head = std::max(*head, *highest);
  auto first_head = *head;
  for (auto& p : group) {
    if (savepoints)
      if (auto err = w.exec("SAVEPOINT aether_append"))
        return fail_all(err);
    auto before = *head;
    auto res = p->snapshot ? upsert_snapshot(w, *p->snapshot, p->encoded[0])
                           : append_one(w, p->batch, p->encoded, *head);
    if (!res) {
      *head = before;
      if (!savepoints
          && !is(res.error(), persistence_error::version_conflict)) {
        return std::nullopt; // rolled back by `tx`, then redone
      }
      if (savepoints)
        if (auto err = w.exec("ROLLBACK TO aether_append"))
          return fail_all(err);
    }
    if (savepoints)
      if (auto err = w.exec("RELEASE aether_append"))
        return fail_all(err);
    results.push_back(std::move(res));
  }
  if (*head != first_head)
    if (auto err = detail::write_position_counter(w, *head))
      return fail_all(err);
  if (auto err = tx.commit())
    return fail_all(err);
  return results;
}

caf::expected<replay_result>
sqlite_store::get_events_with_errors(const std::string& actor_id,
                                     event_range range) {
  if (auto err = validate_actor_id(actor_id))
    return err;
  replay_result result;
  if (range.max_count == 0 || range.from_version > range.to_version)
    return result;
  std::lock_guard<std::mutex> guard{reader_->mtx};
  auto& r = *reader_;
  auto stmt = r.prepare(read_events_sql);
  if (!stmt)
    return stmt.error();
  sqlite_statement q{*stmt};
  q.bind_text(1, actor_id);
  q.bind(2, range.from_version);
  q.bind(3, range.to_version);
  q.bind(4, range.max_count > static_cast<size_t>(INT64_MAX)
              ? int64_t{-1}
              : static_cast<int64_t>(range.max_count));
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) {
    auto version = q.column_int64(0);
    auto body = q.column_blob(1);
    auto ev = json_codec::decode_event(body);
    if (!ev) {
      result.errors.push_back(replay_error{static_cast<uint64_t>(version),
                                           std::string{body},
                                           describe(ev.error())});
    } else if (ev->version != version || ev->actor_id != actor_id) {
      result.errors.push_back(replay_error{
        static_cast<uint64_t>(version), std::string{body},
        "record names actor \"" + ev->actor_id + "\" version "
          + std::to_string(ev->version) + " but is stored under version "
          + std::to_string(version)});
    } else {
      result.events.push_back(std::move(*ev));
    }
  }
  if (rc != SQLITE_DONE)
    return r.make_error(rc, "cannot read events");
  return result;
}

caf::expected<int64_t>
sqlite_store::get_latest_version(const std::string& actor_id) {
  if (auto err = validate_actor_id(actor_id))
    return err;
  std::lock_guard<std::mutex> guard{reader_->mtx};
  return read_latest(*reader_, actor_id);
}

caf::expected<std::vector<std::string>> sqlite_store::actor_ids() {
  std::lock_guard<std::mutex> guard{reader_->mtx};
  auto stmt = reader_->prepare(
    "SELECT actor_id FROM actors WHERE latest > 0 ORDER BY actor_id");
  if (!stmt)
    return stmt.error();
  sqlite_statement q{*stmt};
  std::vector<std::string> out;
  int rc;
  while ((rc = q.step()) == SQLITE_ROW)
    out.emplace_back(q.column_blob(0));
  if (rc != SQLITE_DONE)
    return reader_->make_error(rc, "cannot list the actors");
  return out;
}

caf::error sqlite_store::delete_events_to(const std::string& actor_id,
                                          int64_t version) {
  if (auto err = validate_actor_id(actor_id))
    return err;
  std::lock_guard<std::mutex> guard{writer_->mtx};
  transaction tx{*writer_};
  if (auto err = tx.begin())
    return err;
  for (auto sql : {delete_tags_sql, delete_events_sql}) {
    auto stmt = writer_->prepare(sql);
    if (!stmt)
      return stmt.error();
    sqlite_statement q{*stmt};
    q.bind_text(1, actor_id);
    q.bind(2, version);
    auto rc = q.step();
    if (rc != SQLITE_DONE)
      return writer_->make_error(rc, "cannot delete events");
  }
  return tx.commit();
}

caf::error sqlite_store::save_snapshot(actor_snapshot s) {
  auto encoded = prepare_snapshot(s, opts_.limits);
  if (!encoded)
    return encoded.error();
  std::vector<std::string> body;
  body.push_back(std::move(*encoded));
  auto res = enqueue_and_wait(
    pending_append{{}, std::move(body), nullptr, std::move(s)});
  return res ? caf::none : res.error();
}

caf::expected<append_result>
sqlite_store::upsert_snapshot(detail::sqlite_connection& w,
                              const actor_snapshot& s,
                              const std::string& encoded) {
  auto stmt = w.prepare(upsert_snapshot_sql);
  if (!stmt)
    return stmt.error();
  sqlite_statement q{*stmt};
  q.bind_text(1, s.actor_id);
  q.bind(2, s.version);
  q.bind(3, ns(s.time));
  q.bind(4, std::string_view{encoded});
  auto rc = q.step();
  if (rc != SQLITE_DONE)
    return w.make_error(rc, "cannot save snapshot");
  return append_result{s.version, 0};
}

caf::expected<std::optional<actor_snapshot>>
sqlite_store::get_latest_snapshot(const std::string& actor_id,
                                  snapshot_criteria c) {
  if (auto err = validate_actor_id(actor_id))
    return err;
  std::lock_guard<std::mutex> guard{reader_->mtx};
  auto& r = *reader_;
  auto stmt = r.prepare(latest_snapshot_sql);
  if (!stmt)
    return stmt.error();
  sqlite_statement q{*stmt};
  q.bind_text(1, actor_id);
  q.bind(2, c.min_version);
  q.bind(3, c.max_version);
  q.bind(4, ns(c.min_time));
  q.bind(5, ns(c.max_time));
  auto rc = q.step();
  if (rc == SQLITE_DONE)
    return std::optional<actor_snapshot>{};
  if (rc != SQLITE_ROW)
    return r.make_error(rc, "cannot read snapshot");
  auto version = q.column_int64(0);
  auto s = json_codec::decode_snapshot(q.column_blob(1));
  if (!s)
    return make_corrupt_snapshot(actor_id, version, describe(s.error()));
  if (s->actor_id != actor_id || s->version != version)
    return make_corrupt_snapshot(actor_id, version,
                                 "record names another actor or version");
  return std::optional<actor_snapshot>{std::move(*s)};
}

caf::expected<size_t>
sqlite_store::delete_snapshots(const std::string& actor_id,
                               snapshot_criteria c) {
  if (auto err = validate_actor_id(actor_id))
    return err;
  std::lock_guard<std::mutex> guard{writer_->mtx};
  auto stmt = writer_->prepare(delete_snapshots_sql);
  if (!stmt)
    return stmt.error();
  sqlite_statement q{*stmt};
  q.bind_text(1, actor_id);
  q.bind(2, c.min_version);
  q.bind(3, c.max_version);
  q.bind(4, ns(c.min_time));
  q.bind(5, ns(c.max_time));
  auto rc = q.step();
  if (rc != SQLITE_DONE)
    return writer_->make_error(rc, "cannot delete snapshots");
  return static_cast<size_t>(sqlite3_changes(writer_->handle()));
}

} // namespace aether
