// aether-bench: whole-system benchmarks. Every scenario prints one JSON
// object per line with its parameters, the figure, and the raw limit of the
// same store measured in the same run.
//
//   aether-bench --quick   (every scenario, small: a smoke run)
//   aether-bench recovery --store memory|sqlite|jetstream --events N
//                         --snapshot-every K [--repeat R] [--sync full|normal]
//   aether-bench persist  --store memory|sqlite|jetstream --actors A
//                         --events N [--snapshot-every K] [--repeat R]
//                         [--sync full|normal]
//   aether-bench snapshot-overhead --store S --actors A --events N
//                         [--every K] [--repeat R]
//   aether-bench actors --store S --actors N [--events-per-actor K]
//   aether-bench broadcast --nodes 2 --events N [--actors A]
//                         [--store memory|jetstream]
//   aether-bench cluster [--requests N] [--shard-actors A]
//
// --store jetstream and broadcast start a temporary nats-server of their own
// unless --nats-url URL is given.
#include "aether/jetstream/jetstream_store.hpp"
#include "aether/nats_bridge/nats_bridge.hpp"
#include "aether/persistence/forwarding_store.hpp"
#include "aether/persistence/json_codec.hpp"
#include "aether/persistence/memory_store.hpp"
#include "aether/runtime/config.hpp"
#include "aether/runtime/store_context.hpp"
#include "aether/snapshot/capture.hpp"
#include "aether/sqlite/sqlite_store.hpp"
#include "bench_state.hpp"
#include "cluster_bench.hpp"
#include "nats_server.hpp"
#include "raw_nats.hpp"

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <caf/all.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <nats/nats.h>
#include <sqlite3.h>
#include <string>
#include <vector>

using namespace aether;
using namespace aether::bench;
using clock_type = std::chrono::steady_clock;

namespace {

struct args {
  std::map<std::string, std::string> kv;
  std::string get(const std::string& k, const std::string& dflt) const {
    auto i = kv.find(k);
    return i == kv.end() ? dflt : i->second;
  }
  int64_t num(const std::string& k, int64_t dflt) const {
    auto i = kv.find(k);
    return i == kv.end() ? dflt : std::stoll(i->second);
  }
};

args parse(int argc, char** argv, int first) {
  args a;
  for (int i = first; i < argc; ++i) {
    std::string s = argv[i];
    if (s.rfind("--", 0) != 0)
      throw std::runtime_error("unexpected argument: " + s);
    s = s.substr(2);
    auto eq = s.find('=');
    if (eq != std::string::npos)
      a.kv[s.substr(0, eq)] = s.substr(eq + 1);
    else if (i + 1 < argc && std::string{argv[i + 1]}.rfind("--", 0) != 0)
      a.kv[s] = argv[++i];
    else
      a.kv[s] = "true";
  }
  return a;
}

double ms_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t0)
    .count();
}

double median(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  auto n = xs.size();
  return n % 2 == 1 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
}

double spread(const std::vector<double>& xs) {
  auto [lo, hi] = std::minmax_element(xs.begin(), xs.end());
  return *hi - *lo;
}

/// A temporary folder for SQLite files, removed at exit.
struct temp_folder {
  std::filesystem::path path;
  temp_folder() {
    path = std::filesystem::temp_directory_path()
           / ("aether-bench-" + std::to_string(::getpid()));
    std::filesystem::create_directories(path);
  }
  ~temp_folder() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

// -- JetStream: a server of its own unless --nats-url is given ----------------

std::string nats_url;
std::unique_ptr<aether::test::nats_server> own_server;

std::shared_ptr<nats_connection> nats() {
  static std::shared_ptr<nats_connection> conn;
  if (!conn) {
    if (nats_url.empty()) {
      own_server = std::make_unique<aether::test::nats_server>();
      nats_url = own_server->url();
    }
    nats_options o;
    o.servers = {nats_url};
    auto c = nats_connection::connect(o);
    if (!c)
      throw std::runtime_error(describe(c.error()));
    conn = *c;
  }
  return conn;
}

std::shared_ptr<jetstream_store> make_jetstream(const std::string& name,
                                                size_t max_merged = 1000) {
  jetstream_store::options o;
  // Unique per call: several runs of one process (--quick) reuse names.
  static std::atomic<int> opened{0};
  o.ns = "bench-" + std::to_string(::getpid()) + "-" + name + "-"
         + std::to_string(++opened);
  o.max_merged_events = max_merged;
  auto s = jetstream_store::open(nats(), o);
  if (!s)
    throw std::runtime_error(describe(s.error()));
  return std::shared_ptr<jetstream_store>{std::move(*s)};
}

std::shared_ptr<event_store_with_snapshots>
make_store(const std::string& kind, const temp_folder& tmp,
           const std::string& name, bool full_sync) {
  if (kind == "jetstream")
    return make_jetstream(name);
  if (kind == "memory")
    return std::make_shared<memory_store>();
  if (kind == "sqlite") {
    sqlite_store::options o;
    o.path = (tmp.path / (name + ".db")).string();
    o.full_sync = full_sync;
    auto s = sqlite_store::open(o);
    if (!s)
      throw std::runtime_error(describe(s.error()));
    return std::shared_ptr<event_store_with_snapshots>{std::move(*s)};
  }
  throw std::runtime_error("unknown store: " + kind
                           + " (memory, sqlite or jetstream)");
}

event bench_event(const std::string& id, int64_t v) {
  return make_event("added", id, v,
                    boost::json::object{{"n", v % 10},
                                        {"note", "benchmark payload"}});
}

/// A view of a store without snapshots (to time full replays).
class without_snapshots : public forwarding_store {
public:
  using forwarding_store::forwarding_store;
  caf::error save_snapshot(actor_snapshot) override {
    return caf::none; // dropped: this view never has snapshots
  }
  caf::expected<std::optional<actor_snapshot>>
  get_latest_snapshot(const std::string&, snapshot_criteria) override {
    return std::optional<actor_snapshot>{};
  }
};

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

/// Plain nats.c: one ordered consumer reading an actor's subject.
double raw_jetstream_read_ms(jetstream_store& st, const std::string& id,
                             int64_t messages) {
  auto subject = st.event_subject(id);
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = st.event_stream_name().c_str();
  so.Ordered = true;
  natsSubscription* sub = nullptr;
  bench::raw_nats raw{nats_url};
  auto t0 = clock_type::now();
  if (js_SubscribeSync(&sub, raw.js(), subject.c_str(), nullptr, &so, nullptr)
      != NATS_OK)
    throw std::runtime_error("raw subscribe failed");
  for (int64_t i = 0; i < messages; ++i) {
    natsMsg* m = nullptr;
    if (natsSubscription_NextMsg(&m, sub, 10000) != NATS_OK)
      throw std::runtime_error("raw read stalled");
    natsMsg_Destroy(m);
  }
  auto ms = ms_since(t0);
  natsSubscription_Unsubscribe(sub);
  natsSubscription_Destroy(sub);
  return ms;
}

struct recovery_sample {
  double ms;
  int64_t replayed;
  int64_t version;
};

/// Spawns a persistent actor and times its recovery (spawn to first reply).
recovery_sample time_recovery(caf::actor_system& sys,
                              std::shared_ptr<event_store_with_snapshots> s,
                              const std::string& id) {
  auto ctx = store_context::make(sys, std::move(s), store_io::options{1});
  persistence_options opts;
  opts.recovery_timeout = std::chrono::minutes{10};
  caf::scoped_actor self{sys};
  auto t0 = clock_type::now();
  auto a = sys.spawn<counter_actor>(id, ctx, opts);
  recovery_sample r{0, 0, 0};
  self->request(a, caf::infinite, info_atom::value)
    .receive(
      [&](const std::vector<int64_t>& x) {
        r.ms = ms_since(t0);
        r.version = x[0];
        r.replayed = x[2];
      },
      [&](caf::error& err) {
        throw std::runtime_error("recovery failed: " + sys.render(err));
      });
  self->send_exit(a, caf::exit_reason::user_shutdown);
  self->wait_for(a);
  return r;
}

/// The floor under every recovery figure: spawning a trivial CAF actor and
/// getting its first reply from the blocking driver (no store involved).
double spawn_reply_ms(caf::actor_system& sys) {
  caf::scoped_actor self{sys};
  auto t0 = clock_type::now();
  auto a = sys.spawn([](caf::event_based_actor*) -> caf::behavior {
    return {[](info_atom) {
      return std::vector<int64_t>{};
    }};
  });
  double ms = 0;
  self->request(a, caf::infinite, info_atom::value)
    .receive(
      [&](const std::vector<int64_t>&) {
        ms = ms_since(t0);
      },
      [](caf::error&) {});
  self->send_exit(a, caf::exit_reason::user_shutdown);
  self->wait_for(a);
  return ms;
}

int run_recovery(caf::actor_system& sys, const args& a) {
  auto kind = a.get("store", "memory");
  auto n = a.num("events", 100000);
  auto k = a.num("snapshot-every", 1000);
  auto repeat = std::max<int64_t>(a.num("repeat", 3), 1);
  bool full_sync = a.get("sync", "full") == "full";
  temp_folder tmp;
  // JetStream: one message per persist, as (not pipelined) actors write it.
  auto store = kind == "jetstream"
                 ? std::shared_ptr<event_store_with_snapshots>{make_jetstream(
                   "recovery", 1)}
                 : make_store(kind, tmp, "recovery", full_sync);
  const std::string id = "bench-actor";
  // Write the history directly, with the snapshots an actor whose policy
  // is "every K events" would have taken.
  counter state;
  std::vector<event> batch;
  // JetStream stores one message per persist, as actors write it; the other
  // stores take the history in transactions of 1,000 events.
  size_t per_write = kind == "jetstream" ? 1 : 1000;
  std::mutex mtx;
  std::condition_variable cv;
  int64_t outstanding = 0;
  for (int64_t v = 1; v <= n; ++v) {
    batch.push_back(bench_event(id, v));
    state.apply(batch.back());
    bool boundary = k > 0 && v % k == 0;
    if (per_write == 1 && !boundary && v != n) {
      {
        std::lock_guard<std::mutex> g{mtx};
        ++outstanding;
      }
      event_store::append_callback done = [&](caf::expected<append_result> r) {
        if (!r)
          std::cerr << "append failed: " << describe(r.error()) << "\n";
        std::lock_guard<std::mutex> g{mtx};
        --outstanding;
        cv.notify_all();
      };
      store->append(std::move(batch), std::move(done));
      batch.clear();
      continue;
    }
    if (per_write == 1) {
      // Wait for the pipeline before a blocking write or a snapshot.
      std::unique_lock<std::mutex> g{mtx};
      cv.wait(g, [&] {
        return outstanding == 0;
      });
    }
    if (batch.size() >= per_write || boundary || v == n) {
      if (auto res = store->save_events(std::move(batch)); !res)
        throw std::runtime_error(describe(res.error()));
      batch.clear();
    }
    if (boundary)
      if (auto err = store->save_snapshot(create_snapshot(id, v, state)))
        throw std::runtime_error(describe(err));
  }
  auto full = std::make_shared<without_snapshots>(store);
  // Warm up (page cache, allocator), then measure.
  time_recovery(sys, store, id);
  std::vector<double> rec, rep, raw, floor;
  recovery_sample with{}, without{};
  spawn_reply_ms(sys); // warm-up
  for (int64_t i = 0; i < repeat; ++i) {
    floor.push_back(spawn_reply_ms(sys));
    with = time_recovery(sys, store, id);
    rec.push_back(with.ms);
    without = time_recovery(sys, full, id);
    rep.push_back(without.ms);
    if (kind == "jetstream") {
      // Count the messages: one per event, plus one per snapshot boundary
      // batch written with the blocking path (also one message each).
      raw.push_back(
        raw_jetstream_read_ms(static_cast<jetstream_store&>(*store), id, n));
      continue;
    }
    auto t0 = clock_type::now();
    auto all = store->get_events(id, 1);
    raw.push_back(ms_since(t0));
    if (!all || static_cast<int64_t>(all->size()) != n)
      throw std::runtime_error("raw read failed");
  }
  boost::json::object o{
    {"scenario", "recovery"},
    {"store", kind},
    {"events", n},
    {"snapshot_every", k},
    {"repeat", repeat},
    {"events_replayed", with.replayed},
    {"full_replay_events", without.replayed},
    {"recovery_ms", median(rec)},
    {"recovery_ms_spread", spread(rec)},
    {"full_replay_ms", median(rep)},
    {"full_replay_ms_spread", spread(rep)},
    {"speedup", median(rep) / std::max(median(rec), 1e-6)},
    {"raw_read_ms", median(raw)},
    {"spawn_reply_ms", median(floor)},
    {"full_replay_vs_raw_read", median(raw) / std::max(median(rep), 1e-6)},
  };
  if (kind == "sqlite")
    o["sync"] = full_sync ? "full" : "normal";
  std::cout << boost::json::serialize(o) << std::endl;
  return with.version == n && without.version == n ? 0 : 1;
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

/// Spawns `n` counter actors and waits until each recovered.
std::vector<caf::actor> spawn_counters(caf::actor_system& sys,
                                       caf::scoped_actor& self,
                                       const store_context& ctx, int64_t n,
                                       const persistence_options& opts) {
  std::vector<caf::actor> hs;
  for (int64_t i = 0; i < n; ++i)
    hs.push_back(
      sys.spawn<counter_actor>("actor-" + std::to_string(i), ctx, opts));
  for (auto& h : hs) // wait for recovery
    self->request(h, caf::infinite, info_atom::value)
      .receive([](const std::vector<int64_t>&) {}, [](caf::error&) {});
  return hs;
}

/// Every actor gets its commands at once; they persist one by one. The
/// commands are anonymous, so their replies are dropped instead of piling up
/// in the driver's mailbox (a final `info` request per actor, queued behind
/// them, tells when all are stored).
void send_adds(caf::scoped_actor&, const std::vector<caf::actor>& hs,
               int64_t per_actor) {
  for (int64_t i = 0; i < per_actor; ++i)
    for (auto& h : hs)
      caf::anon_send(h, add_atom::value, int64_t{1});
}

/// One persist run: `actors` actors, `per_actor` commands each, sent at
/// once; returns events/s and the metrics.
std::pair<double, runtime_metrics::values>
persist_once(caf::actor_system& sys, const std::string& kind,
             const temp_folder& tmp, const std::string& name, int64_t actors,
             int64_t per_actor, int64_t snapshot_every, bool full_sync,
             persist_mode mode = persist_mode::sequential,
             sqlite_store::statistics* stats = nullptr) {
  auto store = make_store(kind, tmp, name, full_sync);
  auto ctx = store_context::make(sys, store, store_io::options{});
  persistence_options opts;
  opts.mode = mode;
  if (snapshot_every > 0)
    opts.snapshots.every_events(snapshot_every);
  caf::scoped_actor self{sys};
  auto hs = spawn_counters(sys, self, ctx, actors, opts);
  auto t0 = clock_type::now();
  send_adds(self, hs, per_actor);
  int64_t failures = 0;
  for (auto& h : hs)
    self->request(h, caf::infinite, info_atom::value)
      .receive(
        [&](const std::vector<int64_t>& x) {
          failures += x[0] != per_actor;
        },
        [&](caf::error&) {
          ++failures;
        });
  auto secs = ms_since(t0) / 1000;
  auto m = ctx.metrics->read();
  if (stats && kind == "sqlite")
    *stats = static_cast<sqlite_store&>(*store).stats();
  for (auto& h : hs)
    self->send_exit(h, caf::exit_reason::user_shutdown);
  self->wait_for(hs);
  if (failures > 0)
    throw std::runtime_error("persist failed");
  return {static_cast<double>(actors * per_actor) / secs, m};
}

int run_persist(caf::actor_system& sys, const args& a) {
  auto kind = a.get("store", "memory");
  auto actors = std::max<int64_t>(a.num("actors", 1), 1);
  auto n = a.num("events", 10000);
  auto k = a.num("snapshot-every", 0);
  auto repeat = std::max<int64_t>(a.num("repeat", 1), 1);
  bool full_sync = a.get("sync", "full") == "full";
  auto mode_name = a.get("mode", "sequential");
  if (mode_name != "sequential" && mode_name != "pipelined")
    throw std::runtime_error("--mode: sequential or pipelined (is " + mode_name
                             + ")");
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
  std::cout << boost::json::serialize(o) << std::endl;
  return 0;
}

// -- snapshot overhead: persist with a snapshot every K events against none --

int run_snapshot_overhead(caf::actor_system& sys, const args& a) {
  auto kind = a.get("store", "memory");
  auto actors = std::max<int64_t>(a.num("actors", 100), 1);
  auto n = a.num("events", 20000);
  auto k = std::max<int64_t>(a.num("every", 100), 1);
  auto repeat = std::max<int64_t>(a.num("repeat", 3), 1);
  bool full_sync = a.get("sync", "full") == "full";
  temp_folder tmp;
  auto per_actor = std::max<int64_t>(n / actors, 1);
  n = per_actor * actors;
  persist_once(sys, kind, tmp, "warmup", actors, per_actor, k, full_sync);
  std::vector<double> off, on;
  uint64_t snapshots = 0;
  // Alternate, so that drift (page cache, CPU frequency) hits both alike.
  for (int64_t i = 0; i < repeat; ++i) {
    auto tag = std::to_string(i);
    off.push_back(persist_once(sys, kind, tmp, "off-" + tag, actors, per_actor,
                               0, full_sync)
                    .first);
    auto res = persist_once(sys, kind, tmp, "on-" + tag, actors, per_actor, k,
                            full_sync);
    on.push_back(res.first);
    snapshots = res.second.snapshots_saved;
  }
  boost::json::object o{
    {"scenario", "snapshot-overhead"},
    {"store", kind},
    {"actors", actors},
    {"events", n},
    {"snapshot_every", k},
    {"repeat", repeat},
    {"events_per_s_without", median(off)},
    {"events_per_s_without_spread", spread(off)},
    {"events_per_s_with", median(on)},
    {"events_per_s_with_spread", spread(on)},
    {"snapshots_saved", snapshots},
    {"cost", 1 - median(on) / median(off)},
  };
  std::cout << boost::json::serialize(o) << std::endl;
  return 0;
}

// -- actors: memory per idle recovered actor, spawn + recovery rate ---------

size_t rss_bytes() {
  long pages = 0, resident = 0;
  if (auto* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2)
      resident = 0;
    std::fclose(f);
  }
  return static_cast<size_t>(resident)
         * static_cast<size_t>(::sysconf(_SC_PAGESIZE));
}

/// Sends `info` to every actor at once and waits for all answers.
void await_all(caf::scoped_actor& self, const std::vector<caf::actor>& hs) {
  for (auto& h : hs)
    self->send(h, info_atom::value);
  for (size_t i = 0; i < hs.size(); ++i)
    self->receive([](const std::vector<int64_t>&) {},
                  [](caf::error& err) {
                    throw std::runtime_error("actor failed: "
                                             + caf::to_string(err));
                  });
}

int run_actors(caf::actor_system& sys, const args& a) {
  auto kind = a.get("store", "memory");
  auto n = std::max<int64_t>(a.num("actors", 100000), 1);
  auto history = std::max<int64_t>(a.num("events-per-actor", 10), 0);
  temp_folder tmp;
  auto store = make_store(kind, tmp, "actors", false);
  for (int64_t i = 0; i < n; ++i) {
    std::vector<event> batch;
    for (int64_t v = 1; v <= history; ++v)
      batch.push_back(bench_event("actor-" + std::to_string(i), v));
    if (!batch.empty())
      if (auto res = store->save_events(std::move(batch)); !res)
        throw std::runtime_error(describe(res.error()));
  }
  auto ctx = store_context::make(sys, store, store_io::options{});
  caf::scoped_actor self{sys};
  // Persistent actors: spawn, recover, then idle.
  auto rss0 = rss_bytes();
  auto t0 = clock_type::now();
  std::vector<caf::actor> hs;
  hs.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    hs.push_back(sys.spawn<counter_actor>("actor-" + std::to_string(i), ctx,
                                          persistence_options{}));
  await_all(self, hs);
  auto secs = ms_since(t0) / 1000;
  auto grown = rss_bytes() - rss0;
  // The limit: plain CAF actors with a trivial behavior, same count, spawned
  // while the persistent ones still live (so neither reuses the other's
  // freed memory).
  auto plain_rss0 = rss_bytes();
  t0 = clock_type::now();
  std::vector<caf::actor> plain;
  plain.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    plain.push_back(sys.spawn([](caf::event_based_actor*) -> caf::behavior {
      return {[](info_atom) {
        return std::vector<int64_t>{};
      }};
    }));
  await_all(self, plain);
  auto plain_secs = ms_since(t0) / 1000;
  auto plain_rss = rss_bytes() - plain_rss0;
  for (auto& h : plain)
    self->send_exit(h, caf::exit_reason::user_shutdown);
  self->wait_for(plain);
  plain.clear();
  auto m = ctx.metrics->read();
  for (auto& h : hs)
    self->send_exit(h, caf::exit_reason::user_shutdown);
  self->wait_for(hs);
  boost::json::object o{
    {"scenario", "actors"},
    {"store", kind},
    {"actors", n},
    {"events_per_actor", history},
    {"spawn_recover_per_s", static_cast<double>(n) / secs},
    {"rss_bytes_per_actor",
     static_cast<double>(grown) / static_cast<double>(n)},
    {"recoveries", m.recoveries},
    {"raw_spawn_per_s", static_cast<double>(n) / plain_secs},
    {"raw_rss_bytes_per_actor",
     static_cast<double>(plain_rss) / static_cast<double>(n)},
    {"ratio_to_raw",
     (static_cast<double>(n) / secs) / (static_cast<double>(n) / plain_secs)},
  };
  std::cout << boost::json::serialize(o) << std::endl;
  return m.recoveries == static_cast<uint64_t>(n) ? 0 : 1;
}

// -- broadcast: persist on node 0, delivery on the other nodes ----------------

/// Latency samples (ms) and the time of the last one, filled from any thread.
struct arrivals {
  std::mutex m;
  std::condition_variable cv;
  std::vector<double> latency_ms;
  clock_type::time_point last;

  void add(double ms) {
    std::lock_guard<std::mutex> guard{m};
    latency_ms.push_back(ms);
    last = clock_type::now();
    cv.notify_all();
  }

  /// Waits until `n` samples arrived or nothing arrived for 10 s.
  bool wait_for(size_t n) {
    std::unique_lock<std::mutex> lock{m};
    for (;;) {
      auto seen = latency_ms.size();
      if (seen >= n)
        return true;
      cv.wait_for(lock, std::chrono::seconds{10});
      if (latency_ms.size() == seen)
        return false;
    }
  }
};

double percentile(std::vector<double> xs, double q) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  auto i = static_cast<size_t>(q * static_cast<double>(xs.size() - 1));
  return xs[i];
}

double wall_ms_since(timestamp t) {
  return std::chrono::duration<double, std::milli>(
           std::chrono::system_clock::now() - t)
    .count();
}

boost::json::object summary(arrivals& got, clock_type::time_point t0,
                            bool complete, uint64_t nats_dropped) {
  std::lock_guard<std::mutex> guard{got.m};
  auto secs = std::chrono::duration<double>(got.last - t0).count();
  return {
    {"delivered", got.latency_ms.size()},
    {"complete", complete},
    {"delivered_per_s", static_cast<double>(got.latency_ms.size()) / secs},
    {"latency_p50_ms", percentile(got.latency_ms, 0.5)},
    {"latency_p99_ms", percentile(got.latency_ms, 0.99)},
    {"nats_dropped", nats_dropped},
  };
}

int run_broadcast(caf::actor_system& sys, const args& a) {
  auto nodes = std::max<int64_t>(a.num("nodes", 2), 2);
  auto n = a.num("events", 10000);
  auto actors = std::max<int64_t>(a.num("actors", 10), 1);
  auto kind = a.get("store", "memory");
  auto per_actor = std::max<int64_t>(n / actors, 1);
  n = per_actor * actors;
  nats(); // the server
  temp_folder tmp;
  auto receivers = static_cast<size_t>(nodes - 1);
  // loaded: every command sent at once to the actors on node 0 (throughput);
  // paced: one actor, one command at a time, each delivered everywhere
  // before the next (latency without queueing); direct: events straight into
  // node 0's bus, all at once (the bridge alone).
  enum class mode { loaded, paced, direct };
  auto paced_n = std::min<int64_t>(n, 2000);
  auto run_once = [&](const std::string& name, mode how) {
    struct node {
      std::shared_ptr<event_bus> bus;
      std::shared_ptr<nats_connection> conn;
      std::unique_ptr<nats_bridge> bridge;
    };
    std::vector<node> ns;
    for (int64_t i = 0; i < nodes; ++i) {
      node x;
      x.bus = std::make_shared<event_bus>(sys);
      nats_options o;
      o.servers = {nats_url};
      auto conn = nats_connection::connect(o);
      if (!conn)
        throw std::runtime_error(describe(conn.error()));
      x.conn = *conn;
      auto b = nats_bridge::start(x.bus, x.conn);
      if (!b)
        throw std::runtime_error(describe(b.error()));
      x.bridge = std::move(*b);
      ns.push_back(std::move(x));
    }
    arrivals got;
    subscription_options so;
    so.buffer = static_cast<size_t>(n) + 16;
    so.filter.event_types = {"added"};
    std::vector<event_bus::subscription_id> subs;
    for (size_t i = 1; i < ns.size(); ++i) {
      auto id = ns[i].bus->subscribe(
        "bench." + name,
        [&got](const bus_event& e) {
          got.add(wall_ms_since(e.event().time));
        },
        so);
      if (!id)
        throw std::runtime_error(describe(id.error()));
    }
    for (auto& x : ns) // the subscriptions are registered at the server
      static_cast<void>(x.conn->flush(std::chrono::seconds{10}));
    if (how == mode::direct) {
      auto t0 = clock_type::now();
      for (int64_t i = 0; i < n; ++i) {
        auto e = bench_event("actor-" + std::to_string(i % actors),
                             i / actors + 1);
        e.data = boost::json::object{{"n", 1}};
        e.time = aether::now();
        ns[0].bus->publish("bench." + name, std::move(e));
      }
      auto complete = got.wait_for(static_cast<size_t>(n) * receivers);
      return summary(got, t0, complete, ns[1].bridge->nats_dropped());
    }
    auto store = make_store(kind, tmp, "broadcast-" + name, true);
    auto ctx
      = store_context::make(sys, store).with_bus(ns[0].bus, "bench." + name);
    caf::scoped_actor self{sys};
    auto hs = spawn_counters(sys, self, ctx, how == mode::paced ? 1 : actors,
                             persistence_options{});
    auto t0 = clock_type::now();
    bool complete = true;
    if (how == mode::paced) {
      for (int64_t i = 1; i <= paced_n && complete; ++i) {
        self->request(hs[0], caf::infinite, add_atom::value, int64_t{1})
          .receive([](int64_t) {},
                   [&](caf::error&) {
                     complete = false;
                   });
        complete = complete && got.wait_for(static_cast<size_t>(i) * receivers);
      }
    } else {
      send_adds(self, hs, per_actor);
      complete = got.wait_for(static_cast<size_t>(n) * receivers);
    }
    for (auto& h : hs)
      self->send_exit(h, caf::exit_reason::user_shutdown);
    self->wait_for(hs);
    return summary(got, t0, complete, ns[1].bridge->nats_dropped());
  };
  run_once("warmup", mode::loaded);
  auto r = run_once("run", mode::loaded);
  auto paced = run_once("paced", mode::paced);
  auto direct = run_once("direct", mode::direct);
  r["loaded_latency_p50_ms"] = r["latency_p50_ms"];
  r["loaded_latency_p99_ms"] = r["latency_p99_ms"];
  r["latency_p50_ms"] = paced["latency_p50_ms"];
  r["latency_p99_ms"] = paced["latency_p99_ms"];
  r["paced_events"] = paced_n;
  r["bridge_only_delivered_per_s"] = direct["delivered_per_s"];
  r["bridge_only_latency_p50_ms"] = direct["latency_p50_ms"];
  r["bridge_only_latency_p99_ms"] = direct["latency_p99_ms"];
  // The raw limit: plain core NATS, one publisher connection, a subscriber
  // connection per receiving node, the same envelope size, the send time
  // carried in the payload.
  auto sample = encode_envelope("node", "bench.raw", [] {
    auto e = bench_event("actor-0", 1);
    e.data = boost::json::object{{"n", 1}};
    return e;
  }());
  arrivals raw;
  std::vector<std::unique_ptr<bench::raw_nats>> conns;
  std::vector<natsSubscription*> raw_subs;
  auto on_msg = [](natsConnection*, natsSubscription*, natsMsg* msg,
                   void* closure) {
    int64_t sent = 0;
    std::sscanf(natsMsg_GetData(msg), "%ld", &sent);
    auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                 clock_type::now().time_since_epoch())
                 .count();
    static_cast<arrivals*>(closure)->add(static_cast<double>(now - sent) / 1e6);
    natsMsg_Destroy(msg);
  };
  for (size_t i = 0; i < receivers + 1; ++i)
    conns.push_back(std::make_unique<bench::raw_nats>(nats_url));
  for (size_t i = 1; i < conns.size(); ++i) {
    natsSubscription* sub = nullptr;
    natsConnection_Subscribe(&sub, conns[i]->conn(), "raw.bench", on_msg, &raw);
    natsSubscription_SetPendingLimits(sub, -1, -1);
    natsConnection_Flush(conns[i]->conn());
    raw_subs.push_back(sub);
  }
  auto t0 = clock_type::now();
  std::string payload = sample;
  for (int64_t i = 0; i < n; ++i) {
    auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                 clock_type::now().time_since_epoch())
                 .count();
    auto stamp = std::to_string(now) + " ";
    payload.replace(0, stamp.size(), stamp);
    natsConnection_Publish(conns[0]->conn(), "raw.bench", payload.data(),
                           static_cast<int>(payload.size()));
  }
  raw.wait_for(static_cast<size_t>(n) * receivers);
  // Paced: one message at a time, each received everywhere before the next.
  arrivals raw_paced;
  for (auto* sub : raw_subs) {
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
  }
  raw_subs.clear();
  for (size_t i = 1; i < conns.size(); ++i) {
    natsSubscription* sub = nullptr;
    natsConnection_Subscribe(&sub, conns[i]->conn(), "raw.paced", on_msg,
                             &raw_paced);
    natsConnection_Flush(conns[i]->conn());
    raw_subs.push_back(sub);
  }
  for (int64_t i = 1; i <= paced_n; ++i) {
    auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                 clock_type::now().time_since_epoch())
                 .count();
    auto stamp = std::to_string(now) + " ";
    payload.replace(0, stamp.size(), stamp);
    natsConnection_Publish(conns[0]->conn(), "raw.paced", payload.data(),
                           static_cast<int>(payload.size()));
    if (!raw_paced.wait_for(static_cast<size_t>(i) * receivers))
      break;
  }
  double raw_rate = 0;
  double raw_p50 = 0;
  double raw_p99 = 0;
  {
    std::lock_guard<std::mutex> guard{raw.m};
    raw_rate = static_cast<double>(raw.latency_ms.size())
               / std::chrono::duration<double>(raw.last - t0).count();
    r["raw_loaded_latency_p50_ms"] = percentile(raw.latency_ms, 0.5);
    r["raw_loaded_latency_p99_ms"] = percentile(raw.latency_ms, 0.99);
    std::lock_guard<std::mutex> paced_guard{raw_paced.m};
    raw_p50 = percentile(raw_paced.latency_ms, 0.5);
    raw_p99 = percentile(raw_paced.latency_ms, 0.99);
  }
  for (auto* sub : raw_subs) {
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
  }
  r["scenario"] = "broadcast";
  r["store"] = kind;
  r["nodes"] = nodes;
  r["actors"] = actors;
  r["events"] = n;
  r["envelope_bytes"] = sample.size();
  r["raw_delivered_per_s"] = raw_rate;
  r["raw_latency_p50_ms"] = raw_p50;
  r["raw_latency_p99_ms"] = raw_p99;
  r["ratio_to_raw"] = r["delivered_per_s"].as_double() / raw_rate;
  std::cout << boost::json::serialize(r) << std::endl;
  return r["complete"].as_bool() ? 0 : 1;
}

int dispatch(caf::actor_system& sys, const std::string& cmd, const args& a) {
  if (cmd == "recovery")
    return run_recovery(sys, a);
  if (cmd == "persist")
    return run_persist(sys, a);
  if (cmd == "snapshot-overhead")
    return run_snapshot_overhead(sys, a);
  if (cmd == "actors")
    return run_actors(sys, a);
  if (cmd == "broadcast")
    return run_broadcast(sys, a);
  if (cmd == "cluster") {
    nats();
    return run_cluster(nats_url, a.num("requests", 5000),
                       a.num("shard-actors", 1000));
  }
  std::cerr << "unknown subcommand: " << cmd << "\n";
  return 2;
}

/// `--quick`: every scenario, small, in well under a minute (a smoke run;
/// the figures are not meaningful).
int run_quick(caf::actor_system& sys) {
  std::vector<std::vector<std::string>> runs{
    {"recovery", "--store", "memory", "--events", "2000", "--snapshot-every",
     "1000", "--repeat", "1"},
    {"recovery", "--store", "sqlite", "--events", "2000", "--snapshot-every",
     "1000", "--repeat", "1"},
    {"recovery", "--store", "jetstream", "--events", "2000", "--snapshot-every",
     "1000", "--repeat", "1"},
    {"persist", "--store", "memory", "--actors", "10", "--events", "2000"},
    {"persist", "--store", "sqlite", "--actors", "10", "--events", "500"},
    {"persist", "--store", "jetstream", "--actors", "10", "--events", "1000"},
    {"persist", "--store", "sqlite", "--actors", "1", "--events", "500",
     "--mode", "pipelined"},
    {"persist", "--store", "jetstream", "--actors", "1", "--events", "1000",
     "--mode", "pipelined"},
    {"snapshot-overhead", "--store", "memory", "--actors", "10", "--events",
     "2000", "--repeat", "1"},
    {"actors", "--store", "memory", "--actors", "2000"},
    {"broadcast", "--nodes", "2", "--events", "2000"},
    {"cluster", "--requests", "200", "--shard-actors", "50"},
  };
  int rc = 0;
  for (auto& run : runs) {
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>("aether-bench"));
    for (auto& x : run)
      argv.push_back(const_cast<char*>(x.c_str()));
    auto a = parse(static_cast<int>(argv.size()), argv.data(), 2);
    if (auto r = dispatch(sys, run.front(), a); r != 0)
      rc = r;
  }
  return rc;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr
      << "usage: aether-bench --quick | recovery | persist | "
         "snapshot-overhead | actors | broadcast | cluster [--options]\n";
    return 2;
  }
  std::string cmd = argv[1];
  try {
    auto a = parse(argc, argv, cmd == "--quick" ? 1 : 2);
    nats_url = a.get("nats-url", "");
    aether::config cfg;
    caf::actor_system sys{cfg};
    if (cmd == "--quick")
      return run_quick(sys);
    return dispatch(sys, cmd, a);
  } catch (const std::exception& e) {
    std::cerr << "aether-bench: " << e.what() << "\n";
    return 1;
  }
}
