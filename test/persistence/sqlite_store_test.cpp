#include "aether/core/error.hpp"
#include "aether/persistence/json_codec.hpp"
#include "aether/sqlite/sqlite_store.hpp"
#include "catch.hpp"
#include "temp_dir.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <optional>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

std::unique_ptr<aether::sqlite_store> open_store(const std::string& path) {
  auto s = aether::sqlite_store::open(path);
  if (!s)
    FAIL(aether::describe(s.error()));
  return std::move(*s);
}

struct sqlite_backend {
  static constexpr const char* name = "sqlite";
  aether::test::temp_dir dir;
  std::string path = dir.file("store.db");
  std::unique_ptr<aether::sqlite_store> first = open_store(path);
  std::unique_ptr<aether::sqlite_store> second = open_store(path);

  aether::event_store_with_snapshots& store() {
    return *first;
  }
  aether::event_store_with_snapshots& other_store() {
    return *second;
  }
  void corrupt_event(const std::string& actor, int64_t version,
                     const std::string& raw) {
    CHECK(write_raw("UPDATE events SET body = ?1 WHERE actor_id = ?2 AND "
                    "version = ?3",
                    actor, version, raw)
          == 1);
  }
  void corrupt_snapshot(const std::string& actor, int64_t version,
                        const std::string& raw) {
    CHECK(write_raw("INSERT OR REPLACE INTO snapshots (body, actor_id, "
                    "version, time_ns) VALUES (?1, ?2, ?3, 0)",
                    actor, version, raw)
          == 1);
  }
  // Runs `sql` with ?1 = raw, ?2 = actor, ?3 = version on a connection of
  // its own; returns the rows changed.
  int write_raw(const char* sql, const std::string& actor, int64_t version,
                const std::string& raw) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK);
    sqlite3_bind_blob(stmt, 1, raw.data(), static_cast<int>(raw.size()),
                      SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, actor.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, version);
    CHECK(sqlite3_step(stmt) == SQLITE_DONE);
    auto changed = sqlite3_changes(db);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return changed;
  }
};

using conformance_backends = std::tuple<sqlite_backend>;

} // namespace

#include "store_conformance.hpp"

TEST_CASE("sqlite store: a reopened store sees everything acknowledged") {
  aether::test::temp_dir dir;
  auto path = dir.file("reopen.db");
  {
    auto s = open_store(path);
    for (int64_t v = 1; v <= 10; ++v)
      REQUIRE(s->save_event(ev("acc", v)));
    REQUIRE_FALSE(s->save_snapshot(snap("acc", 8)));
  }
  auto s = open_store(path);
  CHECK(s->get_latest_version("acc") == int64_t{10});
  CHECK(versions(*s->get_events("acc", 1)).size() == 10);
  auto snapshot = s->get_latest_snapshot("acc");
  REQUIRE(snapshot);
  REQUIRE(*snapshot);
  CHECK((*snapshot)->version == 8);
}

TEST_CASE("sqlite store: two processes never fork an actor's history") {
  aether::test::temp_dir dir;
  auto path = dir.file("fork.db");
  open_store(path); // create the schema
  constexpr int per_writer = 100;
  std::vector<pid_t> children;
  for (int w = 0; w < 2; ++w) {
    auto pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      // Child: append until it stored `per_writer` events, re-reading the
      // latest version after every conflict. Exit code = failures.
      auto s = aether::sqlite_store::open(path);
      if (!s)
        _exit(100);
      int stored = 0;
      int errors = 0;
      while (stored < per_writer && errors < 1000) {
        auto latest = (*s)->get_latest_version("shared");
        if (!latest) {
          ++errors;
          continue;
        }
        auto e = ev("shared", *latest + 1, "by-" + std::to_string(w));
        auto res = (*s)->save_event(e);
        if (res)
          ++stored;
        else if (!aether::is(res.error(),
                             aether::persistence_error::version_conflict))
          ++errors;
      }
      _exit(stored == per_writer ? 0 : 1);
    }
    children.push_back(pid);
  }
  for (auto pid : children) {
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  auto s = open_store(path);
  auto all = s->get_events("shared", 1);
  REQUIRE(all);
  REQUIRE(all->size() == 2 * per_writer);
  int by0 = 0;
  for (size_t i = 0; i < all->size(); ++i) {
    CHECK((*all)[i].version == static_cast<int64_t>(i + 1));
    by0 += (*all)[i].type == "by-0";
  }
  CHECK(by0 == per_writer);
}

TEST_CASE("sqlite store: processes opening a new file at once all succeed") {
  // Found by the two-writers fault test: switching a new file to WAL
  // answered "database is locked" at once to one of two processes that
  // opened it at the same moment.
  int failed = 0;
  for (int round = 0; round < 40 && failed == 0; ++round) {
    aether::test::temp_dir dir;
    auto path = dir.file("race.db");
    int gate[2];
    REQUIRE(pipe(gate) == 0);
    std::vector<pid_t> children;
    for (int w = 0; w < 4; ++w) {
      auto pid = fork();
      REQUIRE(pid >= 0);
      if (pid == 0) {
        close(gate[1]);
        char c;
        (void)!read(gate[0], &c, 1); // returns when the parent closes it
        auto s = aether::sqlite_store::open(path);
        _exit(s ? 0 : 1);
      }
      children.push_back(pid);
    }
    close(gate[0]);
    close(gate[1]); // all start now
    for (auto pid : children) {
      int status = 0;
      REQUIRE(waitpid(pid, &status, 0) == pid);
      failed += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    }
  }
  CHECK(failed == 0);
}

TEST_CASE("sqlite store: clear errors for a bad file") {
  aether::test::temp_dir dir;
  SECTION("an in-memory or temporary database is refused") {
    // The store has two connections; each would see its own database.
    for (auto path :
         {"", ":memory:", "file::memory:?cache=shared", "file:x?mode=memory"}) {
      CAPTURE(path);
      auto s = aether::sqlite_store::open(path);
      REQUIRE_FALSE(s);
      CHECK(aether::is(s.error(), aether::persistence_error::invalid_argument));
      CHECK(aether::describe(s.error()).find("path") != std::string::npos);
    }
  }
  SECTION("a page cache of no size or past SQLite's range is refused") {
    for (size_t kib : {size_t{0}, size_t{1} << 40}) {
      CAPTURE(kib);
      aether::sqlite_store::options o;
      o.path = dir.file("cache.db");
      o.writer_cache_kib = kib;
      auto s = aether::sqlite_store::open(o);
      REQUIRE_FALSE(s);
      CHECK(aether::is(s.error(), aether::persistence_error::invalid_argument));
      CHECK(aether::describe(s.error()).find("writer_cache_kib")
            != std::string::npos);
      CHECK_FALSE(std::filesystem::exists(o.path)); // nothing written
    }
  }
  SECTION("a missing folder") {
    auto s = aether::sqlite_store::open(dir.file("no/such/dir/x.db"));
    REQUIRE_FALSE(s);
    CHECK(aether::is(s.error(), aether::persistence_error::store_failure));
    CHECK(aether::describe(s.error()).find("folder") != std::string::npos);
  }
  SECTION("a read-only file") {
    auto path = dir.file("ro.db");
    open_store(path);
    REQUIRE(chmod(path.c_str(), 0444) == 0);
    if (geteuid() == 0) {
      // root ignores file modes; use a read-only open through SQLite's URI
      // instead to check the error path.
      auto s = aether::sqlite_store::open("file:" + path + "?mode=ro");
      REQUIRE_FALSE(s);
      CHECK(aether::describe(s.error()).find("read-only") != std::string::npos);
    } else {
      auto s = aether::sqlite_store::open(path);
      REQUIRE_FALSE(s);
      CHECK(aether::describe(s.error()).find("read-only") != std::string::npos);
    }
  }
  SECTION("a file that is not a database") {
    auto path = dir.file("junk.db");
    FILE* f = fopen(path.c_str(), "w");
    REQUIRE(f);
    fputs("this is not an SQLite database, just some text padding it out "
          "to more than a header's length of bytes.............",
          f);
    fclose(f);
    auto s = aether::sqlite_store::open(path);
    REQUIRE_FALSE(s);
    CHECK_FALSE(aether::describe(s.error()).empty());
  }
  SECTION("a newer schema is refused") {
    auto path = dir.file("newer.db");
    open_store(path);
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    REQUIRE(
      sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr)
      == SQLITE_OK);
    sqlite3_close(db);
    auto s = aether::sqlite_store::open(path);
    REQUIRE_FALSE(s);
    CHECK(aether::describe(s.error()).find("schema version 99")
          != std::string::npos);
  }
}

TEST_CASE("sqlite store: opened without create, it never creates or "
          "changes a file") {
  aether::test::temp_dir dir;
  auto open_existing = [](const std::string& path) {
    aether::sqlite_store::options opts;
    opts.path = path;
    opts.create = false;
    return aether::sqlite_store::open(std::move(opts));
  };
  SECTION("a missing file is not_found and stays missing") {
    auto path = dir.file("missing.db");
    auto s = open_existing(path);
    REQUIRE_FALSE(s);
    CHECK(aether::is(s.error(), aether::persistence_error::not_found));
    CHECK(aether::describe(s.error()).find("does not exist")
          != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(path));
  }
  SECTION("a database without aether's schema is refused, unchanged") {
    auto path = dir.file("other.db");
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    REQUIRE(
      sqlite3_exec(db, "CREATE TABLE t (x INTEGER)", nullptr, nullptr, nullptr)
      == SQLITE_OK);
    sqlite3_close(db);
    auto read_all = [&] {
      std::ifstream in{path, std::ios::binary};
      return std::string{std::istreambuf_iterator<char>{in}, {}};
    };
    auto before = read_all();
    auto s = open_existing(path);
    REQUIRE_FALSE(s);
    CHECK(aether::is(s.error(), aether::persistence_error::store_failure));
    CHECK(aether::describe(s.error()).find("not an aether store")
          != std::string::npos);
    CHECK(read_all() == before); // not even switched to WAL
    CHECK_FALSE(std::filesystem::exists(path + "-wal"));
  }
  SECTION("read-only: reads work, a write fails, the file is unchanged") {
    auto path = dir.file("ro.db");
    REQUIRE(open_store(path)->save_event(ev("acc", 1)));
    std::ifstream in{path, std::ios::binary};
    std::string before{std::istreambuf_iterator<char>{in}, {}};
    aether::sqlite_store::options opts;
    opts.path = path;
    opts.read_only = true;
    auto s = aether::sqlite_store::open(opts);
    REQUIRE(s);
    CHECK((*s)->get_latest_version("acc") == int64_t{1});
    auto written = (*s)->save_event(ev("acc", 2));
    REQUIRE_FALSE(written);
    CHECK(
      aether::is(written.error(), aether::persistence_error::store_failure));
    CHECK((*s)->save_snapshot(snap("acc", 1)));
    s->reset();
    std::ifstream again{path, std::ios::binary};
    CHECK(std::string{std::istreambuf_iterator<char>{again}, {}} == before);
    opts.path = dir.file("none.db");
    auto missing = aether::sqlite_store::open(opts);
    REQUIRE_FALSE(missing);
    CHECK(aether::is(missing.error(), aether::persistence_error::not_found));
  }
  SECTION("an existing store opens with its history") {
    auto path = dir.file("store.db");
    REQUIRE(open_store(path)->save_event(ev("acc", 1)));
    auto s = open_existing(path);
    REQUIRE(s);
    CHECK((*s)->get_latest_version("acc") == int64_t{1});
  }
}

TEST_CASE("sqlite store: a held write lock gives unavailable, not a hang") {
  aether::test::temp_dir dir;
  auto path = dir.file("busy.db");
  aether::sqlite_store::options opts;
  opts.path = path;
  opts.busy_timeout = std::chrono::milliseconds{100};
  auto s = aether::sqlite_store::open(opts);
  REQUIRE(s);
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr)
          == SQLITE_OK);
  auto res = (*s)->save_event(ev("a", 1));
  REQUIRE_FALSE(res);
  CHECK(aether::is(res.error(), aether::persistence_error::unavailable));
  sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  CHECK((*s)->save_event(ev("a", 1)));
  CHECK((*s)->get_latest_version("a") == int64_t{1});
}

TEST_CASE("sqlite store: concurrent appends are group-committed correctly") {
  // Appends from many threads share commits; each batch still succeeds or
  // fails on its own, and a conflict in one never affects another.
  aether::test::temp_dir dir;
  auto store = open_store(dir.file("group.db"));
  constexpr int threads = 8;
  constexpr int64_t per_thread = 150;
  std::atomic<int64_t> shared_ok{0};
  std::atomic<int64_t> shared_conflicts{0};
  std::atomic<int64_t> own_failures{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      auto own = "own-" + std::to_string(t);
      for (int64_t v = 1; v <= per_thread; ++v) {
        if (!store->save_event(
              aether::make_event("t", own, v, boost::json::object{{"n", v}})))
          ++own_failures;
        // Everyone also races for the next version of one shared actor.
        auto latest = store->get_latest_version("shared");
        if (!latest)
          continue;
        auto res = store->save_event(aether::make_event(
          "t", "shared", *latest + 1, boost::json::object{{"by", t}}));
        if (res)
          ++shared_ok;
        else if (aether::is(res.error(),
                            aether::persistence_error::version_conflict))
          ++shared_conflicts;
      }
    });
  for (auto& t : ts)
    t.join();
  CHECK(own_failures == 0);
  for (int t = 0; t < threads; ++t) {
    auto events = store->get_events("own-" + std::to_string(t), 1);
    REQUIRE(events);
    REQUIRE(events->size() == static_cast<size_t>(per_thread));
    for (int64_t v = 1; v <= per_thread; ++v)
      CHECK((*events)[static_cast<size_t>(v - 1)].version == v);
  }
  auto shared = store->get_events("shared", 1);
  REQUIRE(shared);
  // Every acknowledged append is there, exactly once, contiguous from 1.
  CHECK(static_cast<int64_t>(shared->size()) == shared_ok.load());
  for (size_t i = 0; i < shared->size(); ++i)
    CHECK((*shared)[i].version == static_cast<int64_t>(i + 1));
  CHECK(shared_ok + shared_conflicts == threads * per_thread);
  CHECK(shared_conflicts > 0); // the race really happened
}

TEST_CASE("sqlite store: the writer stores everything queued in one commit, "
          "up to max_group_size") {
  for (size_t max_group : {size_t{10000}, size_t{50}}) {
    INFO("max_group_size " << max_group);
    aether::test::temp_dir dir;
    auto path = dir.file("queued.db");
    aether::sqlite_store::options opts;
    opts.path = path;
    opts.max_group_size = max_group;
    opts.busy_timeout = std::chrono::seconds{30};
    auto s = aether::sqlite_store::open(opts);
    REQUIRE(s);
    auto& store = **s;
    // Another connection holds the write lock: the writer's first
    // transaction waits for it while the appends queue behind it.
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr)
            == SQLITE_OK);
    constexpr int n = 300;
    std::mutex mtx;
    std::condition_variable cv;
    int done = 0;
    int ok = 0;
    for (int i = 0; i < n; ++i) {
      std::vector<aether::event> batch{ev("q-" + std::to_string(i), 1)};
      aether::event_store::append_callback cb
        = [&](caf::expected<aether::append_result> res) {
            std::lock_guard<std::mutex> guard{mtx};
            ++done;
            ok += res ? 1 : 0;
            cv.notify_all();
          };
      store.append(std::move(batch), std::move(cb));
    }
    REQUIRE(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
    {
      std::unique_lock<std::mutex> guard{mtx};
      REQUIRE(cv.wait_for(guard, std::chrono::seconds{60}, [&] {
        return done == n;
      }));
      CHECK(ok == n);
    }
    auto st = store.stats();
    CHECK(st.appends == n);
    if (max_group == 50) {
      CHECK(st.largest_group == 50);
      CHECK(st.commits >= 6);
    } else {
      // What queued during the first transaction went in the second.
      CHECK(st.commits <= 2);
      CHECK(st.largest_group >= n / 2);
    }
    for (int i = 0; i < n; i += 37)
      CHECK(store.get_latest_version("q-" + std::to_string(i)) == int64_t{1});
  }
}

TEST_CASE("sqlite store: in one group commit, a batch that fails after its "
          "first write and a conflicting batch fail alone") {
  aether::test::temp_dir dir;
  auto path = dir.file("torn.db");
  auto s = open_store(path);
  auto& store = *s;
  REQUIRE(store.save_event(ev("c", 1)));
  // A trigger fails the second event of "bad": its first is written by
  // then. Another connection holds the write lock meanwhile: the writer
  // waits for it with the first batch (or two) taken, and the batches from
  // "bad" on meet in the next group.
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db,
                       "BEGIN IMMEDIATE; CREATE TRIGGER fail_bad BEFORE "
                       "INSERT ON events WHEN NEW.actor_id = 'bad' AND "
                       "NEW.version = 2 BEGIN SELECT RAISE(ABORT, 'no'); END",
                       nullptr, nullptr, nullptr)
          == SQLITE_OK);
  std::vector<std::vector<aether::event>> batches{{ev("first", 1)},
                                                  {ev("a", 1)},
                                                  {ev("bad", 1), ev("bad", 2)},
                                                  {ev("c", 1)},
                                                  {ev("d", 1)}};
  std::mutex mtx;
  std::condition_variable cv;
  std::vector<std::optional<caf::expected<aether::append_result>>> got(
    batches.size());
  for (size_t i = 0; i < batches.size(); ++i)
    store.append(std::move(batches[i]),
                 [&, i](caf::expected<aether::append_result> res) {
                   std::lock_guard<std::mutex> guard{mtx};
                   got[i] = std::move(res);
                   cv.notify_all();
                 });
  auto before = store.stats();
  REQUIRE(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  {
    std::unique_lock<std::mutex> guard{mtx};
    REQUIRE(cv.wait_for(guard, std::chrono::seconds{30}, [&] {
      return std::all_of(got.begin(), got.end(), [](const auto& x) {
        return x.has_value();
      });
    }));
  }
  CHECK(store.stats().commits - before.commits <= 2);
  CHECK(store.stats().largest_group >= 3);
  CHECK(*got[0]);
  CHECK(*got[1]);
  REQUIRE_FALSE(*got[2]);
  CHECK(aether::is(got[2]->error(), aether::persistence_error::store_failure));
  REQUIRE_FALSE(*got[3]);
  CHECK(
    aether::is(got[3]->error(), aether::persistence_error::version_conflict));
  CHECK(*got[4]);
  CHECK(store.get_latest_version("a") == int64_t{1});
  CHECK(store.get_latest_version("bad") == int64_t{0});
  CHECK(store.get_events("bad", 1)->empty());
  CHECK(store.get_latest_version("d") == int64_t{1});
  // Positions stay gapless in what is stored.
  auto all = store.events_by_namespace(0, 10);
  REQUIRE(all);
  std::vector<std::string> ids;
  for (size_t i = 0; i < all->events.size(); ++i) {
    ids.push_back(all->events[i].ev.actor_id);
    CHECK(all->events[i].position == static_cast<int64_t>(i + 1));
  }
  CHECK(ids == std::vector<std::string>{"c", "first", "a", "d"});
}

TEST_CASE("sqlite store: a bad batch queued asynchronously fails at once, "
          "alone") {
  aether::test::temp_dir dir;
  auto store = open_store(dir.file("bad-async.db"));
  std::vector<aether::event> bad{ev("ok", 1)};
  bad.front().type.clear();
  caf::expected<aether::append_result> got = caf::error{};
  bool called = false;
  aether::event_store::append_callback cb
    = [&](caf::expected<aether::append_result> res) {
        got = std::move(res);
        called = true;
      };
  store->append(std::move(bad), std::move(cb));
  REQUIRE(called); // on the calling thread, before it returned
  REQUIRE_FALSE(got);
  CHECK(aether::is(got.error(), aether::persistence_error::invalid_argument));
  CHECK(store->get_latest_version("ok") == int64_t{0});
  CHECK(store->save_event(ev("ok", 1)));
}

namespace {

/// The first column of the first row of `sql` (one text parameter), as
/// text; empty if there is no row.
std::string query_text(const std::string& path, const char* sql,
                       const std::string& arg = {}) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr)
          == SQLITE_OK);
  sqlite3_stmt* q = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql, -1, &q, nullptr) == SQLITE_OK);
  if (!arg.empty())
    sqlite3_bind_text(q, 1, arg.c_str(), -1, SQLITE_TRANSIENT);
  std::string out;
  if (sqlite3_step(q) == SQLITE_ROW)
    out = reinterpret_cast<const char*>(sqlite3_column_text(q, 0));
  sqlite3_finalize(q);
  sqlite3_close(db);
  return out;
}

int64_t user_version(const std::string& path) {
  return std::stoll(query_text(path, "PRAGMA user_version"));
}

/// The CREATE statement of a table or index, empty if there is none.
std::string table_sql(const std::string& path, const std::string& name) {
  return query_text(path, "SELECT sql FROM sqlite_master WHERE name = ?1",
                    name);
}

/// Runs `sql` on the file, as an older version of aether would have.
void exec_sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr)
          == SQLITE_OK);
  sqlite3_close(db);
}

/// Version 1 and 2's tables of latest versions and of snapshots.
constexpr const char* old_actors_and_snapshots = R"sql(
  CREATE TABLE actors (actor_id TEXT PRIMARY KEY,
    latest INTEGER NOT NULL) WITHOUT ROWID;
  CREATE TABLE snapshots (actor_id TEXT NOT NULL,
    version INTEGER NOT NULL, time_ns INTEGER NOT NULL, body BLOB NOT NULL,
    PRIMARY KEY (actor_id, version)) WITHOUT ROWID;)sql";

/// "actor:version@position" of each event of a page.
std::vector<std::string> names(const aether::query_page& page) {
  std::vector<std::string> out;
  for (auto& x : page.events)
    out.push_back(x.ev.actor_id + ":" + std::to_string(x.ev.version) + "@"
                  + std::to_string(x.position));
  return out;
}

} // namespace

TEST_CASE("sqlite store: a version 1 file is numbered in (actor, version) "
          "order when opened writable, and read as it is read-only") {
  using namespace aether;
  test::temp_dir dir;
  auto path = dir.file("v1.db");
  // A store as version 1 wrote it: no positions, no tag index.
  {
    exec_sql(path, R"sql(
      CREATE TABLE events (actor_id TEXT NOT NULL, version INTEGER NOT NULL,
        body BLOB NOT NULL, PRIMARY KEY (actor_id, version)) WITHOUT ROWID;
      )sql" + std::string{old_actors_and_snapshots}
                     + R"sql(
      PRAGMA user_version = 1;)sql");
    auto insert = [&](const std::string& id, int64_t v,
                      std::vector<std::string> tags) {
      auto e = make_event("deposited", id, v);
      e.set_tags(std::move(tags));
      auto body = json_codec::encode(e);
      auto sql = "INSERT INTO events VALUES ('" + id + "', " + std::to_string(v)
                 + ", '" + body + "'); INSERT INTO actors VALUES ('" + id
                 + "', " + std::to_string(v)
                 + ") ON CONFLICT (actor_id) DO UPDATE SET latest = "
                   "excluded.latest;";
      exec_sql(path, sql);
    };
    insert("b", 1, {"t"});
    insert("a", 1, {});
    insert("b", 2, {});
    insert("a", 2, {"t"});
  }
  using ss = std::vector<std::string>;
  {
    sqlite_store::options o;
    o.path = path;
    o.read_only = true;
    auto s = sqlite_store::open(o);
    REQUIRE(s);
    CHECK((*s)->get_events("a", 1)->size() == 2);
    auto q = (*s)->events_by_namespace(0, 10);
    REQUIRE_FALSE(q);
    CHECK(describe(q.error()).find("schema version 1") != std::string::npos);
  }
  auto s = sqlite_store::open(path);
  REQUIRE(s);
  auto all = (*s)->events_by_namespace(0, 10);
  REQUIRE(all);
  CHECK(names(*all) == ss{"a:1@1", "a:2@2", "b:1@3", "b:2@4"});
  auto tagged = (*s)->events_by_tag("t", 0, 10);
  REQUIRE(tagged);
  CHECK(names(*tagged) == ss{"a:2@2", "b:1@3"});
  REQUIRE((*s)->save_event(make_event("deposited", "a", 3)));
  auto next = (*s)->events_by_namespace(4, 10);
  REQUIRE(next);
  CHECK(names(*next) == ss{"a:3@5"});
  s->reset();
  // Reopened: already the current version, nothing renumbered.
  CHECK(user_version(path) == sqlite_store::schema_version);
  CHECK(table_sql(path, "events").find("position INTEGER PRIMARY KEY")
        != std::string::npos);
  auto again = sqlite_store::open(path);
  REQUIRE(again);
  auto same = (*again)->events_by_namespace(0, 10);
  REQUIRE(same);
  CHECK(names(*same) == ss{"a:1@1", "a:2@2", "b:1@3", "b:2@4", "a:3@5"});
}

TEST_CASE("sqlite store: a version 2 file moves to the table keyed by "
          "position when opened writable, keeping positions, tags and "
          "versions, and reads as it is read-only") {
  using namespace aether;
  test::temp_dir dir;
  auto path = dir.file("v2.db");
  // A store as version 2 wrote it: events keyed by (actor id, version), with
  // positions in commit order (here not the order of the key).
  {
    exec_sql(path, R"sql(
      CREATE TABLE events (actor_id TEXT NOT NULL, version INTEGER NOT NULL,
        body BLOB NOT NULL, position INTEGER,
        PRIMARY KEY (actor_id, version)) WITHOUT ROWID;
      )sql" + std::string{old_actors_and_snapshots}
                     + R"sql(
      CREATE UNIQUE INDEX events_by_position ON events (position);
      CREATE TABLE event_tags (tag TEXT NOT NULL, position INTEGER NOT NULL,
        PRIMARY KEY (tag, position)) WITHOUT ROWID;
      CREATE TABLE positions (name TEXT PRIMARY KEY,
        position INTEGER NOT NULL) WITHOUT ROWID;
      PRAGMA user_version = 2;)sql");
    int64_t position = 0;
    auto insert = [&](const std::string& id, int64_t v, bool tagged) {
      auto e = make_event("deposited", id, v);
      if (tagged)
        e.set_tags({"t"});
      auto body = json_codec::encode(e);
      auto p = std::to_string(++position);
      auto sql
        = "INSERT INTO events VALUES ('" + id + "', " + std::to_string(v)
          + ", '" + body + "', " + p + "); INSERT INTO actors VALUES ('" + id
          + "', " + std::to_string(v)
          + ") ON CONFLICT (actor_id) DO UPDATE SET latest = "
            "excluded.latest;"
          + (tagged ? "INSERT INTO event_tags VALUES ('t', " + p + ");" : "")
          + "INSERT OR REPLACE INTO positions VALUES ('events', " + p + ");";
      exec_sql(path, sql);
    };
    insert("b", 1, true);
    insert("a", 1, false);
    insert("b", 2, false);
    insert("a", 2, true);
    // A process of version 1 still writing after the upgrade to version 2
    // stores events without a position.
    exec_sql(path, "INSERT INTO events (actor_id, version, body) VALUES ('c', "
                   "1, '"
                     + json_codec::encode(make_event("deposited", "c", 1))
                     + "'); INSERT INTO actors VALUES ('c', 1);");
  }
  using ss = std::vector<std::string>;
  auto in_commit_order = ss{"b:1@1", "a:1@2", "b:2@3", "a:2@4"};
  {
    sqlite_store::options o;
    o.path = path;
    o.read_only = true;
    auto s = sqlite_store::open(o);
    REQUIRE(s);
    CHECK((*s)->get_events("a", 1)->size() == 2);
    auto all = (*s)->events_by_namespace(0, 10);
    REQUIRE(all);
    CHECK(names(*all) == in_commit_order);
  }
  CHECK(user_version(path) == 2); // read-only changed nothing
  auto s = sqlite_store::open(path);
  REQUIRE(s);
  CHECK(user_version(path) == 3);
  CHECK(table_sql(path, "events").find("position INTEGER PRIMARY KEY")
        != std::string::npos);
  CHECK(table_sql(path, "events_by_position").empty());
  CHECK(table_sql(path, "events_by_actor").find("UNIQUE") != std::string::npos);
  // The event without a position follows the counter.
  auto all = (*s)->events_by_namespace(0, 10);
  REQUIRE(all);
  auto with_c = in_commit_order;
  with_c.push_back("c:1@5");
  CHECK(names(*all) == with_c);
  auto tagged = (*s)->events_by_tag("t", 0, 10);
  REQUIRE(tagged);
  CHECK(names(*tagged) == ss{"b:1@1", "a:2@4"});
  auto a = (*s)->get_events("a", 1);
  REQUIRE(a);
  REQUIRE(a->size() == 2);
  CHECK(a->at(0).version == 1);
  CHECK(a->at(1).version == 2);
  // The key still refuses a second version 2, and numbering goes on.
  auto conflict = (*s)->save_event(make_event("deposited", "a", 2));
  REQUIRE_FALSE(conflict);
  CHECK(is(conflict.error(), persistence_error::version_conflict));
  REQUIRE((*s)->save_event(make_event("deposited", "a", 3)));
  auto next = (*s)->events_by_namespace(4, 10);
  REQUIRE(next);
  CHECK(names(*next) == ss{"c:1@5", "a:3@6"});
}

TEST_CASE("sqlite store: appends go on after an event stored without a "
          "position") {
  // A process of version 1 on the same file inserts without a position;
  // SQLite gives its row the next rowid, which the counter does not cover.
  // Appends started from the counter and collided with it from then on.
  using namespace aether;
  test::temp_dir dir;
  auto path = dir.file("stray.db");
  auto s = sqlite_store::open(path);
  REQUIRE(s);
  REQUIRE((*s)->save_event(make_event("deposited", "a", 1)));
  exec_sql(path, "INSERT INTO events (actor_id, version, body) VALUES ('old', "
                 "1, '"
                   + json_codec::encode(make_event("deposited", "old", 1))
                   + "')");
  auto res = (*s)->save_event(make_event("deposited", "a", 2));
  REQUIRE(res);
  REQUIRE((*s)->save_event(make_event("deposited", "a", 3)));
  auto all = (*s)->events_by_namespace(0, 10);
  REQUIRE(all);
  CHECK(names(*all)
        == std::vector<std::string>{"a:1@1", "old:1@2", "a:2@3", "a:3@4"});
}
