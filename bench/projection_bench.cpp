// aether-bench projection: events/s through a projection (exactly-once into
// SQLite, and at-least-once) against the raw query read rate of the same
// store in the same run; then the live lag under a steady write load.
#include "aether/core/error.hpp"
#include "aether/projections/projection.hpp"
#include "aether/projections/sqlite_offset_store.hpp"
#include "harness.hpp"

#include <atomic>
#include <mutex>
#include <sqlite3.h>
#include <thread>
#include <unordered_map>

namespace aether::bench {

namespace {

struct projection_bench_options {
  std::string store = "sqlite";
  std::string sync = "full";
  int64_t events = 100000;
  int64_t actors = 100;
  int64_t batch = 1000;
  int64_t rate = 10000;
  int64_t seconds = 5;
};

/// Writes `n` events over `actors` actors in appends of 10, all queued at
/// once (the store groups them).
void write_history(event_store& store, int64_t n, int64_t actors) {
  std::vector<int64_t> next(static_cast<size_t>(actors), 0);
  std::atomic<int64_t> pending{0};
  std::atomic<int64_t> failed{0};
  for (int64_t i = 0; i < n; i += 10) {
    auto a = static_cast<size_t>((i / 10) % actors);
    auto id = "p-" + std::to_string(a);
    std::vector<event> batch;
    for (int k = 0; k < 10 && i + k < n; ++k)
      batch.push_back(bench_event(id, ++next[a]));
    pending += 1;
    store.append(std::move(batch), [&](caf::expected<append_result> r) {
      if (!r)
        failed += 1;
      pending -= 1;
    });
  }
  while (pending.load() > 0)
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  if (failed.load() > 0)
    throw std::runtime_error("writing the history failed");
}

/// Waits until every worker of `p` stored `offset`; returns the seconds.
double wait_for_offset(projection& p, int64_t offset,
                       clock_type::time_point t0) {
  for (;;) {
    bool done = true;
    for (auto& s : p.stats())
      done = done && s.offset >= offset;
    if (done)
      return std::chrono::duration<double>(clock_type::now() - t0).count();
    std::this_thread::sleep_for(std::chrono::microseconds{200});
  }
}

caf::error count_into(sqlite3* db, const positioned_event& x) {
  static thread_local sqlite3_stmt* q = nullptr;
  static thread_local sqlite3* prepared_for = nullptr;
  if (prepared_for != db) {
    sqlite3_finalize(q);
    q = nullptr;
    prepared_for = db;
    if (db == nullptr)
      return caf::none;
    sqlite3_prepare_v2(db,
                       "INSERT INTO counts VALUES (?1, 1) ON CONFLICT (actor) "
                       "DO UPDATE SET n = n + 1",
                       -1, &q, nullptr);
  }
  sqlite3_bind_text(q, 1, x.ev.actor_id.data(),
                    static_cast<int>(x.ev.actor_id.size()), SQLITE_STATIC);
  auto rc = sqlite3_step(q);
  sqlite3_reset(q);
  if (rc != SQLITE_DONE)
    return make_persistence_error(persistence_error::store_failure,
                                  sqlite3_errmsg(db));
  return caf::none;
}

int run_projection(caf::actor_system&, const projection_bench_options& o) {
  temp_folder tmp;
  auto store = make_store(o.store, tmp, "projection", o.sync == "full");
  write_history(*store, o.events, o.actors);
  auto head = store->highest_position();
  if (!head)
    throw std::runtime_error(describe(head.error()));
  boost::json::object r{{"scenario", "projection"},
                        {"store", o.store},
                        {"events", o.events},
                        {"batch", o.batch}};
  // The raw limit: the query alone, page by page (warmed up once).
  double raw_per_s = 0;
  for (int round = 0; round < 2; ++round) {
    auto t0 = clock_type::now();
    int64_t seen = 0;
    for (int64_t after = 0;;) {
      auto page = store->events_by_namespace(after,
                                             static_cast<size_t>(o.batch));
      if (!page)
        throw std::runtime_error(describe(page.error()));
      seen += static_cast<int64_t>(page->events.size());
      after = page->next_after;
      if (page->at_end)
        break;
    }
    raw_per_s = static_cast<double>(seen) / (ms_since(t0) / 1000.0);
  }
  r["raw_read_per_s"] = raw_per_s;
  // The exactly-once work by hand, as a second raw limit: each page read,
  // then its upserts and an offset in one transaction of the same SQLite
  // settings (no worker, no overlap).
  {
    auto model = (tmp.path / "by-hand.db").string();
    sqlite3* db = nullptr;
    sqlite3_open(model.c_str(), &db);
    sqlite3_exec(db,
                 "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE "
                 "TABLE counts (actor TEXT PRIMARY KEY, n INTEGER); CREATE "
                 "TABLE offsets (name TEXT PRIMARY KEY, position INTEGER)",
                 nullptr, nullptr, nullptr);
    auto t0 = clock_type::now();
    for (int64_t after = 0;;) {
      auto page = store->events_by_namespace(after,
                                             static_cast<size_t>(o.batch));
      if (!page)
        throw std::runtime_error(describe(page.error()));
      sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
      for (auto& x : page->events)
        if (auto err = count_into(db, x))
          throw std::runtime_error(describe(err));
      auto offset = "INSERT OR REPLACE INTO offsets VALUES ('by-hand', "
                    + std::to_string(page->next_after) + ")";
      sqlite3_exec(db, offset.c_str(), nullptr, nullptr, nullptr);
      sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
      after = page->next_after;
      if (page->at_end)
        break;
    }
    r["raw_read_and_upsert_per_s"] = static_cast<double>(o.events)
                                     / (ms_since(t0) / 1000.0);
    count_into(nullptr, positioned_event{}); // forget the statement
    sqlite3_close(db);
  }
  projection_options po;
  po.batch_size = static_cast<size_t>(o.batch);
  // Exactly-once into a SQLite read model (a count per actor).
  {
    auto model = (tmp.path / "model.db").string();
    sqlite3* db = nullptr;
    sqlite3_open(model.c_str(), &db);
    sqlite3_exec(db, "CREATE TABLE counts (actor TEXT PRIMARY KEY, n INTEGER)",
                 nullptr, nullptr, nullptr);
    sqlite3_close(db);
    po.name = "exactly";
    auto t0 = clock_type::now();
    auto p = projection::exactly_once(store, po, model, count_into);
    if (!p)
      throw std::runtime_error(describe(p.error()));
    auto secs = wait_for_offset(**p, *head, t0);
    r["exactly_once_per_s"] = static_cast<double>(o.events) / secs;
  }
  // At-least-once with offsets in a SQLite file.
  {
    auto offsets
      = sqlite_offset_store::open((tmp.path / "offsets.db").string());
    if (!offsets)
      throw std::runtime_error(describe(offsets.error()));
    std::atomic<int64_t> handled{0};
    po.name = "atleast";
    auto t0 = clock_type::now();
    auto p = projection::at_least_once(
      store, po, std::shared_ptr<offset_store>{std::move(*offsets)},
      [&](const positioned_event&) {
        handled += 1;
        return caf::error{};
      });
    if (!p)
      throw std::runtime_error(describe(p.error()));
    auto secs = wait_for_offset(**p, *head, t0);
    r["at_least_once_per_s"] = static_cast<double>(o.events) / secs;
  }
  r["exactly_once_vs_raw"] = r["exactly_once_per_s"].as_double() / raw_per_s;
  r["exactly_once_vs_by_hand"] = r["exactly_once_per_s"].as_double()
                                 / r["raw_read_and_upsert_per_s"].as_double();
  r["at_least_once_vs_raw"] = r["at_least_once_per_s"].as_double() / raw_per_s;
  emit(r);
  // Live lag: a steady write load, the projection following it.
  std::mutex mtx;
  std::vector<double> lag_ms;
  // When each event was acknowledged and when it was handled (wall clock),
  // by "actor/version": the lag from the ack is the projection's own part.
  std::unordered_map<std::string, timestamp> acked;
  std::vector<std::pair<std::string, timestamp>> handled_at;
  timestamp last_ack;
  po.name = "live";
  po.batch_size = static_cast<size_t>(o.batch);
  auto offsets = sqlite_offset_store::open((tmp.path / "live.db").string());
  if (!offsets)
    throw std::runtime_error(describe(offsets.error()));
  // Start at the head: only the live events count.
  std::shared_ptr<offset_store> live{std::move(*offsets)};
  if (auto err = live->save("live", stored_offset{0, 1, *head}))
    throw std::runtime_error(describe(err));
  auto p = projection::at_least_once(
    store, po, live, [&](const positioned_event& x) {
      auto t = now();
      auto ms
        = std::chrono::duration<double, std::milli>(t - x.ev.time).count();
      std::lock_guard<std::mutex> g{mtx};
      lag_ms.push_back(ms);
      handled_at.emplace_back(
        x.ev.actor_id + "/" + std::to_string(x.ev.version), t);
      return caf::error{};
    });
  if (!p)
    throw std::runtime_error(describe(p.error()));
  auto total = o.rate * o.seconds;
  std::vector<int64_t> next(static_cast<size_t>(o.actors), 0);
  {
    // Continue the actors' versions after the history.
    for (int64_t i = 0; i < o.events; i += 10)
      next[static_cast<size_t>((i / 10) % o.actors)]
        += std::min<int64_t>(10, o.events - i);
  }
  std::atomic<int64_t> pending{0};
  auto t0 = clock_type::now();
  int64_t sent = 0;
  // Appends of one event, paced per millisecond.
  while (sent < total) {
    auto due = static_cast<int64_t>(ms_since(t0) * static_cast<double>(o.rate)
                                    / 1000.0);
    for (; sent < std::min(due, total); ++sent) {
      auto a = static_cast<size_t>(sent % o.actors);
      pending += 1;
      auto id = "p-" + std::to_string(a);
      auto key = id + "/" + std::to_string(++next[a]);
      store->append({bench_event(id, next[a])},
                    [&, key](caf::expected<append_result>) {
                      auto t = now();
                      std::lock_guard<std::mutex> g{mtx};
                      acked.emplace(key, t);
                      last_ack = std::max(last_ack, t);
                      pending -= 1;
                    });
    }
    std::this_thread::sleep_for(std::chrono::microseconds{500});
  }
  auto write_secs = ms_since(t0) / 1000.0;
  auto deadline = clock_type::now() + std::chrono::seconds{30};
  for (;;) {
    {
      std::lock_guard<std::mutex> g{mtx};
      if (static_cast<int64_t>(lag_ms.size()) >= total)
        break;
    }
    if (clock_type::now() > deadline)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  }
  (*p)->stop();
  auto live_stats = (*p)->stats()[0];
  while (pending.load() > 0)
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  std::lock_guard<std::mutex> g{mtx};
  std::vector<double> ack_lag_ms;
  for (auto& [key, t] : handled_at)
    if (auto i = acked.find(key); i != acked.end())
      ack_lag_ms.push_back(std::max(
        0.0, std::chrono::duration<double, std::milli>(t - i->second).count()));
  auto stored_secs = std::chrono::duration<double>(
                       last_ack
                       - (now()
                          - std::chrono::nanoseconds{static_cast<int64_t>(
                            ms_since(t0) * 1e6)}))
                       .count();
  emit({{"scenario", "projection-lag"},
        {"store", o.store},
        {"target_rate_per_s", o.rate},
        {"written_per_s", static_cast<double>(total) / write_secs},
        {"stored_per_s", static_cast<double>(total) / stored_secs},
        {"handled", lag_ms.size()},
        {"read_failures", live_stats.read_failures},
        {"poll_interval_ms", po.poll_interval.count()},
        {"lag_p50_ms", percentile(lag_ms, 0.5)},
        {"lag_p99_ms", percentile(lag_ms, 0.99)},
        {"lag_max_ms", percentile(lag_ms, 1.0)},
        {"ack_lag_p50_ms", percentile(ack_lag_ms, 0.5)},
        {"ack_lag_p99_ms", percentile(ack_lag_ms, 0.99)}});
  return static_cast<int64_t>(lag_ms.size()) >= total ? 0 : 1;
}

} // namespace

void add_projection(CLI::App& app, runner& chosen) {
  auto o = std::make_shared<projection_bench_options>();
  auto* sub = add_scenario(app, chosen, "projection",
                           "events/s through a projection (exactly-once "
                           "into SQLite, at-least-once) against the raw "
                           "query read rate; live lag under a write load",
                           o, run_projection);
  add_store_options(*sub, o->store, o->sync);
  add_number(*sub, "--events", o->events, "events in the history");
  add_number(*sub, "--actors", o->actors, "actors writing");
  add_number(*sub, "--batch", o->batch, "events per read");
  add_number(*sub, "--rate", o->rate, "events/s written in the live run");
  add_number(*sub, "--seconds", o->seconds, "seconds of the live run");
}

} // namespace aether::bench
