// Projections killed with SIGKILL at random points: exactly-once leaves a
// read model equal to the fold of the events up to its offset; at-least-once
// handles every event at least once, repeating at most one read per crash.
#include "aether/core/error.hpp"
#include "aether/projections/projection.hpp"
#include "aether/projections/sqlite_offset_store.hpp"
#include "aether/sqlite/sqlite_store.hpp"
#include "catch.hpp"
#include "temp_dir.hpp"

#include <csignal>
#include <map>
#include <random>
#include <sqlite3.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace aether;

namespace {

constexpr int total_events = 3000;
constexpr size_t batch = 50;

caf::error sql(sqlite3* db, const std::string& text) {
  if (sqlite3_exec(db, text.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK)
    return make_persistence_error(persistence_error::store_failure,
                                  sqlite3_errmsg(db));
  return caf::none;
}

/// Writes the history: deposits of 1 to 9 on 20 accounts; returns the fold.
std::map<std::string, int64_t> write_history(const std::string& path) {
  auto store = sqlite_store::open(path);
  REQUIRE(store);
  std::mt19937 rng{42};
  std::map<std::string, int64_t> next;
  std::map<std::string, int64_t> fold;
  for (int i = 0; i < total_events; i += 10) {
    auto id = "acc-" + std::to_string(rng() % 20);
    std::vector<event> batch_events;
    for (int k = 0; k < 10; ++k) {
      auto amount = static_cast<int64_t>(rng() % 9 + 1);
      fold[id] += amount;
      batch_events.push_back(make_event(
        "deposited", id, ++next[id], boost::json::object{{"amount", amount}}));
    }
    REQUIRE((*store)->save_events(std::move(batch_events)));
  }
  return fold;
}

projection_options options(const char* name) {
  projection_options o;
  o.name = name;
  o.batch_size = batch;
  o.poll_interval = std::chrono::milliseconds{1};
  o.max_backoff = std::chrono::milliseconds{50};
  return o;
}

caf::error fold_into(sqlite3* db, const positioned_event& x) {
  auto amount = x.ev.data.at("amount").as_int64();
  return sql(db, "INSERT INTO balances VALUES ('" + x.ev.actor_id + "', "
                   + std::to_string(amount)
                   + ") ON CONFLICT (account) DO UPDATE SET balance = "
                     "balance + excluded.balance");
}

/// Runs `run` in a child process and kills it with SIGKILL once `due()`
/// holds (or after 30 s).
template <class Due, class F>
void run_and_kill(Due due, F run) {
  auto pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    run();
    for (;;)
      ::pause();
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{30};
  while (!due() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::microseconds{200});
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  CHECK(WIFSIGNALED(status));
}

std::shared_ptr<event_store> open_events(const std::string& path) {
  auto s = sqlite_store::open(path);
  if (!s)
    ::_exit(3);
  return std::shared_ptr<event_store>{std::move(*s)};
}

/// The balances in the read model and its stored offset.
std::pair<std::map<std::string, int64_t>, int64_t>
read_model(const std::string& path) {
  std::map<std::string, int64_t> got;
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  // The projection may hold the write lock (or switch to WAL) right now.
  sqlite3_busy_timeout(db, 10000);
  sqlite3_stmt* q = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "SELECT account, balance FROM balances", -1,
                             &q, nullptr)
          == SQLITE_OK);
  while (sqlite3_step(q) == SQLITE_ROW)
    got[reinterpret_cast<const char*>(sqlite3_column_text(q, 0))]
      = sqlite3_column_int64(q, 1);
  sqlite3_finalize(q);
  int64_t offset = 0;
  if (sqlite3_prepare_v2(db,
                         "SELECT position FROM aether_projection_offsets "
                         "WHERE projection = 'balances'",
                         -1, &q, nullptr)
      == SQLITE_OK) {
    if (sqlite3_step(q) == SQLITE_ROW)
      offset = sqlite3_column_int64(q, 0);
  }
  sqlite3_finalize(q);
  sqlite3_close(db);
  return {got, offset};
}

/// The fold of the events up to `offset`, read from the store.
std::map<std::string, int64_t> fold_upto(event_store& store, int64_t offset) {
  std::map<std::string, int64_t> out;
  auto page = store.events_by_namespace(0, static_cast<size_t>(offset));
  REQUIRE(page);
  for (auto& x : page->events)
    out[x.ev.actor_id] += x.ev.data.at("amount").as_int64();
  return out;
}

} // namespace

TEST_CASE("projection crashes: exactly-once equals the fold of its events") {
  test::temp_dir dir;
  auto events = dir.file("events.db");
  auto fold = write_history(events);
  auto model = dir.file("model.db");
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(model.c_str(), &db) == SQLITE_OK);
    REQUIRE_FALSE(sql(db, "CREATE TABLE balances (account TEXT PRIMARY KEY, "
                          "balance INTEGER NOT NULL)"));
    sqlite3_close(db);
  }
  std::mt19937 rng{7};
  int cut_midway = 0;
  for (int crash = 0; crash < 8; ++crash) {
    // Killed once it stored a few more pages than before (timed by its
    // progress, not by the clock: slow machines and sanitizers differ).
    auto before = read_model(model).second;
    auto target = std::min<int64_t>(
      before + 100 + static_cast<int64_t>(rng() % 300), total_events - 200);
    run_and_kill(
      [&] {
        return read_model(model).second >= target;
      },
      [&] {
        auto p = projection::exactly_once(
          open_events(events), options("balances"), model, fold_into);
        if (!p)
          ::_exit(4);
        for (;;)
          ::pause();
      });
    auto [got, offset] = read_model(model);
    if (offset > 0 && offset < total_events)
      ++cut_midway;
    // Opened and closed here: no thread of it runs at the next fork.
    auto reader = open_events(events);
    CHECK(got == fold_upto(*reader, offset));
  }
  // The kills did land while it was working.
  CHECK(cut_midway > 0);
  // After each crash the model is the fold of the events up to its offset;
  // a last run finishes the history.
  auto store = open_events(events);
  auto p = projection::exactly_once(store, options("balances"), model,
                                    fold_into);
  REQUIRE(p);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{60};
  while ((*p)->stats()[0].offset < total_events
         && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{2});
  (*p)->stop();
  REQUIRE((*p)->stats()[0].offset == total_events);
  auto [got, offset] = read_model(model);
  CHECK(offset == total_events);
  CHECK(got == fold);
}

TEST_CASE("projection crashes: at-least-once handles every event, repeating "
          "at most two reads per crash") {
  test::temp_dir dir;
  auto events = dir.file("events.db");
  write_history(events);
  auto log_path = dir.file("handled.db");
  auto offsets_path = dir.file("offsets.db");
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(log_path.c_str(), &db) == SQLITE_OK);
    REQUIRE_FALSE(sql(db, "PRAGMA journal_mode=WAL; CREATE TABLE handled "
                          "(position INTEGER NOT NULL)"));
    sqlite3_close(db);
  }
  auto handled_rows = [&] {
    sqlite3* db = nullptr;
    sqlite3_open(log_path.c_str(), &db);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt* q = nullptr;
    int64_t n = 0;
    if (sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM handled", -1, &q, nullptr)
          == SQLITE_OK
        && sqlite3_step(q) == SQLITE_ROW)
      n = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return n;
  };
  // The handler records each event (autocommit; WAL keeps a commit through
  // SIGKILL) before the projection stores its offset.
  auto run = [&](bool forever) {
    sqlite3* db = nullptr;
    sqlite3_open(log_path.c_str(), &db);
    sqlite3_busy_timeout(db, 5000);
    sql(db, "PRAGMA synchronous=NORMAL");
    auto offsets = sqlite_offset_store::open(offsets_path);
    if (!offsets)
      ::_exit(5);
    auto p = projection::at_least_once(
      open_events(events), options("log"),
      std::shared_ptr<offset_store>{std::move(*offsets)},
      [db](const positioned_event& x) {
        return sql(db, "INSERT INTO handled VALUES ("
                         + std::to_string(x.position) + ")");
      });
    if (!p)
      ::_exit(6);
    if (forever)
      for (;;)
        ::pause();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{60};
    while ((*p)->stats()[0].offset < total_events
           && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds{2});
    (*p)->stop();
    p->reset();
    sqlite3_close(db);
  };
  std::mt19937 rng{11};
  constexpr int crashes = 8;
  int cut_midway = 0;
  for (int crash = 0; crash < crashes; ++crash) {
    // Killed once it handled a few hundred events more than before (the
    // count is read from the log while it writes).
    auto target = std::min<int64_t>(handled_rows() + 200
                                      + static_cast<int64_t>(rng() % 200),
                                    total_events - 100);
    run_and_kill(
      [&] {
        return handled_rows() >= target;
      },
      [&] {
        run(true);
      });
    auto offsets = sqlite_offset_store::open(offsets_path);
    REQUIRE(offsets);
    auto stored = (*offsets)->load("log");
    REQUIRE(stored);
    UNSCOPED_INFO("after kill "
                  << crash << ": "
                  << (stored->empty() ? -1 : stored->front().position));
    if (!stored->empty() && stored->front().position < total_events)
      ++cut_midway;
  }
  CHECK(cut_midway > 0);
  run(false);
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(log_path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* q = nullptr;
  REQUIRE(sqlite3_prepare_v2(db,
                             "SELECT COUNT(DISTINCT position), COUNT(*), "
                             "MIN(position), MAX(position) FROM handled",
                             -1, &q, nullptr)
          == SQLITE_OK);
  REQUIRE(sqlite3_step(q) == SQLITE_ROW);
  auto distinct = sqlite3_column_int64(q, 0);
  auto rows = sqlite3_column_int64(q, 1);
  CHECK(distinct == total_events);
  CHECK(sqlite3_column_int64(q, 2) == 1);
  CHECK(sqlite3_column_int64(q, 3) == total_events);
  // Each crash repeats at most two reads: the one whose offset was being
  // stored and the one being handled.
  CHECK(rows - distinct <= static_cast<int64_t>(crashes * 2 * batch));
  sqlite3_finalize(q);
  sqlite3_close(db);
}
