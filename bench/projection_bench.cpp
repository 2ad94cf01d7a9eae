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
#include <string_view>
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
  int64_t repeat = 3;
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

/// Adds `n` to the count of `actor` (a statement prepared once per
/// connection: the handlers run on a worker's thread; a null `db` forgets
/// it).
caf::error add_count(sqlite3* db, std::string_view actor, int64_t n) {
  static thread_local sqlite3_stmt* q = nullptr;
  static thread_local sqlite3* prepared_for = nullptr;
  if (prepared_for != db) {
    sqlite3_finalize(q);
    q = nullptr;
    prepared_for = db;
    if (db == nullptr)
      return caf::none;
    sqlite3_prepare_v2(db,
                       "INSERT INTO counts VALUES (?1, ?2) ON CONFLICT (actor) "
                       "DO UPDATE SET n = n + excluded.n",
                       -1, &q, nullptr);
  }
  sqlite3_bind_text(q, 1, actor.data(), static_cast<int>(actor.size()),
                    SQLITE_STATIC);
  sqlite3_bind_int64(q, 2, n);
  auto rc = sqlite3_step(q);
  sqlite3_reset(q);
  if (rc != SQLITE_DONE)
    return make_persistence_error(persistence_error::store_failure,
                                  sqlite3_errmsg(db));
  return caf::none;
}

/// The read model's handler per event: one upsert per event.
caf::error count_into(sqlite3* db, const positioned_event& x) {
  return add_count(db, x.ev.actor_id, 1);
}

/// Its batch form: a read's events added up per actor, each actor written
/// once.
caf::error count_batch_into(sqlite3* db, const event_batch& xs) {
  std::unordered_map<std::string_view, int64_t> sums;
  for (auto& x : xs)
    sums[x.ev.actor_id] += 1;
  for (auto& [actor, n] : sums)
    if (auto err = add_count(db, actor, n))
      return err;
  return caf::none;
}

/// Creates an empty read model (a count per actor) at `path`.
void create_counts(const std::string& path) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db, "CREATE TABLE counts (actor TEXT PRIMARY KEY, n INTEGER)",
               nullptr, nullptr, nullptr);
  sqlite3_close(db);
}

/// One round of the throughput figures, in events/s.
struct rates {
  double raw = 0;
  double by_hand = 0;
  double exactly_once = 0;
  double exactly_once_batched = 0;
  double at_least_once = 0;
};

/// Reads the history of `events` up to `head` every way once; `round`
/// names the round's read models and offsets.
rates measure_round(const std::shared_ptr<event_store>& store,
                    const temp_folder& tmp, const projection_bench_options& o,
                    int64_t head, int round) {
  rates out;
  auto file = [&](const std::string& name) {
    return (tmp.path / (name + "-" + std::to_string(round) + ".db")).string();
  };
  auto per_s = [&](double secs) {
    return static_cast<double>(o.events) / secs;
  };
  // The raw limit: the query alone, page by page (warmed up once).
  for (int pass = 0; pass < 2; ++pass) {
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
    out.raw = static_cast<double>(seen) / (ms_since(t0) / 1000.0);
  }
  // The exactly-once work by hand, as a second raw limit: each page read,
  // then its upserts and an offset in one transaction of the same SQLite
  // settings (no worker, no overlap).
  {
    auto model = file("by-hand");
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
    out.by_hand = per_s(ms_since(t0) / 1000.0);
    add_count(nullptr, {}, 0); // forget the statement
    sqlite3_close(db);
  }
  projection_options po;
  po.batch_size = static_cast<size_t>(o.batch);
  // Exactly-once into a SQLite read model (a count per actor).
  {
    auto model = file("model");
    create_counts(model);
    po.name = "exactly";
    auto t0 = clock_type::now();
    auto p = projection::exactly_once(store, po, model, count_into);
    if (!p)
      throw std::runtime_error(describe(p.error()));
    out.exactly_once = per_s(wait_for_offset(**p, head, t0));
  }
  // The same read model with a batch handler: a read's counts added up per
  // actor, each actor written once per read.
  {
    auto model = file("model-batched");
    create_counts(model);
    po.name = "batched";
    auto t0 = clock_type::now();
    auto p = projection::exactly_once_batched(store, po, model,
                                              count_batch_into);
    if (!p)
      throw std::runtime_error(describe(p.error()));
    out.exactly_once_batched = per_s(wait_for_offset(**p, head, t0));
  }
  // At-least-once with offsets in a SQLite file.
  {
    auto offsets = sqlite_offset_store::open(file("offsets"));
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
    out.at_least_once = per_s(wait_for_offset(**p, head, t0));
  }
  return out;
}

int run_projection(caf::actor_system&, const projection_bench_options& o) {
  temp_folder tmp;
  auto store = make_store(o.store, tmp, "projection", o.sync == "full");
  write_history(*store, o.events, o.actors);
  auto head = store->highest_position();
  if (!head)
    throw std::runtime_error(describe(head.error()));
  auto repeat = std::max<int64_t>(o.repeat, 1);
  boost::json::object r{{"scenario", "projection"},
                        {"store", o.store},
                        {"events", o.events},
                        {"batch", o.batch},
                        {"repeat", repeat}};
  // Every figure is the median of the rounds, each ratio the median of the
  // rounds' ratios (against the raw read of the same round).
  std::vector<rates> rounds;
  for (int i = 0; i < repeat; ++i)
    rounds.push_back(measure_round(store, tmp, o, *head, i));
  auto report = [&](const std::string& key, auto field) {
    std::vector<double> xs;
    for (auto& x : rounds)
      xs.push_back(field(x));
    r[key] = median(xs);
    r[key + "_spread"] = spread(xs);
  };
  report("raw_read_per_s", [](const rates& x) {
    return x.raw;
  });
  report("raw_read_and_upsert_per_s", [](const rates& x) {
    return x.by_hand;
  });
  report("exactly_once_per_s", [](const rates& x) {
    return x.exactly_once;
  });
  report("exactly_once_batched_per_s", [](const rates& x) {
    return x.exactly_once_batched;
  });
  report("at_least_once_per_s", [](const rates& x) {
    return x.at_least_once;
  });
  report("exactly_once_vs_raw", [](const rates& x) {
    return x.exactly_once / x.raw;
  });
  report("exactly_once_vs_by_hand", [](const rates& x) {
    return x.exactly_once / x.by_hand;
  });
  report("exactly_once_batched_vs_raw", [](const rates& x) {
    return x.exactly_once_batched / x.raw;
  });
  report("at_least_once_vs_raw", [](const rates& x) {
    return x.at_least_once / x.raw;
  });
  emit(r);
  projection_options po;
  po.batch_size = static_cast<size_t>(o.batch);
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
  add_number(*sub, "--repeat", o->repeat,
             "rounds of the throughput runs (medians are reported)");
}

} // namespace aether::bench
