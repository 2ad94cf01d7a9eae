// aether-bench persist: persist throughput against the store's raw limit.
#include "aether/core/error.hpp"
#include "aether/persistence/json_codec.hpp"
#include "bench_state.hpp"
#include "harness.hpp"
#include "raw_nats.hpp"

#include <nats/nats.h>
#include <sqlite3.h>

namespace aether::bench {

namespace {

/// Plain nats.c: asynchronous JetStream publishes of the same message size
/// to the same server, then waiting for every ack.
double raw_jetstream_events_per_s(int64_t n) {
  auto st = make_jetstream("raw-publish");
  auto subject = st->event_subject("raw");
  auto body = json_codec::encode(bench_event("raw", 1));
  bench::raw_nats raw{nats_url};
  auto* js = raw.js();
  auto t0 = clock_type::now();
  for (int64_t v = 1; v <= n; ++v)
    while (js_PublishAsync(js, subject.c_str(), body.data(),
                           static_cast<int>(body.size()), nullptr)
           != NATS_OK)
      ; // window full: retry
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = 60000;
  js_PublishAsyncComplete(js, &po);
  return static_cast<double>(n) / (ms_since(t0) / 1000);
}

/// Plain SQLite: one prepared insert per event, one transaction per event
/// (the same transaction size as one persist per command).
double raw_sqlite_events_per_s(const std::string& path, int64_t n,
                               bool full_sync, int64_t rows_per_txn = 1) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
  sqlite3_exec(
    db, full_sync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
    nullptr, nullptr, nullptr);
  sqlite3_exec(db,
               "CREATE TABLE raw (actor_id TEXT, version INTEGER, body BLOB, "
               "PRIMARY KEY (actor_id, version)) WITHOUT ROWID",
               nullptr, nullptr, nullptr);
  sqlite3_stmt* ins = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO raw VALUES (?1, ?2, ?3)", -1, &ins,
                     nullptr);
  std::vector<std::string> bodies;
  bodies.reserve(static_cast<size_t>(n));
  for (int64_t v = 1; v <= n; ++v)
    bodies.push_back(json_codec::encode(bench_event("raw", v)));
  auto t0 = clock_type::now();
  for (int64_t v = 1; v <= n; ++v) {
    if ((v - 1) % rows_per_txn == 0)
      sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    sqlite3_bind_text(ins, 1, "raw", -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 2, v);
    auto& b = bodies[static_cast<size_t>(v - 1)];
    sqlite3_bind_blob(ins, 3, b.data(), static_cast<int>(b.size()),
                      SQLITE_STATIC);
    sqlite3_step(ins);
    sqlite3_reset(ins);
    if (v % rows_per_txn == 0 || v == n)
      sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  }
  auto secs = ms_since(t0) / 1000;
  sqlite3_finalize(ins);
  sqlite3_close(db);
  return static_cast<double>(n) / secs;
}

/// The store's own API without actors: one save_event per event.
double raw_store_events_per_s(event_store& store, int64_t n) {
  auto t0 = clock_type::now();
  for (int64_t v = 1; v <= n; ++v)
    if (!store.save_event(bench_event("raw-store", v)))
      throw std::runtime_error("raw append failed");
  return static_cast<double>(n) / (ms_since(t0) / 1000);
}

/// Memory limit: vector append + the JSON encode, no store.
double raw_memory_events_per_s(int64_t n) {
  std::vector<std::string> log;
  auto t0 = clock_type::now();
  for (int64_t v = 1; v <= n; ++v)
    log.push_back(json_codec::encode(bench_event("raw", v)));
  return static_cast<double>(n) / (ms_since(t0) / 1000);
}

struct persist_options {
  std::string store = "memory";
  std::string sync = "full";
  int64_t actors = 1;
  int64_t events = 10000;
  int64_t snapshot_every = 0;
  int64_t repeat = 1;
  std::string mode = "sequential";
};

int run_persist(caf::actor_system& sys, const persist_options& a) {
  auto kind = a.store;
  auto actors = std::max<int64_t>(a.actors, 1);
  auto n = a.events;
  auto k = a.snapshot_every;
  auto repeat = std::max<int64_t>(a.repeat, 1);
  bool full_sync = a.sync == "full";
  auto mode_name = a.mode;
  auto mode = mode_name == "pipelined" ? persist_mode::pipelined
                                       : persist_mode::sequential;
  temp_folder tmp;
  auto per_actor = std::max<int64_t>(n / actors, 1);
  n = per_actor * actors;
  persist_once(sys, kind, tmp, "warmup", actors, per_actor, k, full_sync, mode);
  std::vector<double> rates;
  runtime_metrics::values m;
  sqlite_store::statistics st;
  for (int64_t i = 0; i < repeat; ++i) {
    auto res = persist_once(sys, kind, tmp, "persist-" + std::to_string(i),
                            actors, per_actor, k, full_sync, mode, &st);
    rates.push_back(res.first);
    m = res.second;
  }
  auto rate = median(rates);
  // Percentiles from the persist latency histogram (bucket upper bounds).
  auto pct = [&](double q) {
    auto& h = m.persist_latency;
    auto target = static_cast<uint64_t>(q * static_cast<double>(h.count));
    for (size_t i = 0; i < latency_histogram::bounds.size(); ++i)
      if (h.buckets[i] >= target)
        return latency_histogram::bounds[i] * 1000;
    return h.max_seconds * 1000;
  };
  auto raw_store = make_store(kind, tmp, "raw-store", full_sync);
  double raw_api = raw_store_events_per_s(*raw_store,
                                          std::min<int64_t>(n, 20000));
  double raw = 0;
  if (kind == "memory")
    raw = raw_memory_events_per_s(n);
  else if (kind == "jetstream")
    raw = raw_jetstream_events_per_s(n);
  else
    raw = raw_sqlite_events_per_s((tmp.path / "raw.db").string(),
                                  std::min<int64_t>(n, 20000), full_sync);
  boost::json::object o{
    {"scenario", "persist"},
    {"store", kind},
    {"mode", mode_name},
    {"actors", actors},
    {"events", n},
    {"snapshot_every", k},
    {"repeat", repeat},
    {"events_per_s", rate},
    {"events_per_s_spread", spread(rates)},
    {"latency_p50_ms_le", pct(0.5)},
    {"latency_p99_ms_le", pct(0.99)},
    {"snapshots_saved", m.snapshots_saved},
    {"raw_events_per_s", raw},
    {"raw_store_api_events_per_s", raw_api},
    {"ratio_to_raw", rate / raw},
  };
  if (kind == "sqlite") {
    o["sync"] = full_sync ? "full" : "normal";
    // Plain inserts at 100 rows per transaction, and at the group size the
    // run reached (appends per commit of the last run).
    auto rows = std::min<int64_t>(n, 100000);
    o["raw_100_rows_per_txn_events_per_s"] = raw_sqlite_events_per_s(
      (tmp.path / "raw100.db").string(), rows, full_sync, 100);
    auto group
      = st.commits > 0
          ? std::max<int64_t>(static_cast<int64_t>(st.appends / st.commits), 1)
          : int64_t{1};
    o["group_size_reached"] = group;
    o["raw_at_group_size_events_per_s"] = raw_sqlite_events_per_s(
      (tmp.path / "raw-group.db").string(), rows, full_sync, group);
  }
  emit(o);
  return 0;
}

} // namespace

void add_persist(CLI::App& app, runner& chosen) {
  auto o = std::make_shared<persist_options>();
  auto* sub = add_scenario(app, chosen, "persist",
                           "events/s of A actors persisting at once, against "
                           "the raw limit of the same store",
                           o, run_persist);
  add_store_options(*sub, o->store, o->sync);
  add_number(*sub, "--actors", o->actors, "actors");
  add_number(*sub, "--events", o->events, "events in all");
  add_number(*sub, "--snapshot-every", o->snapshot_every,
             "a snapshot every K events (0: none)", CLI::NonNegativeNumber);
  add_number(*sub, "--repeat", o->repeat, "runs (the median is reported)");
  sub->add_option("--mode", o->mode, "persist mode")
    ->check(CLI::IsMember({"sequential", "pipelined"}))
    ->capture_default_str();
}

} // namespace aether::bench
