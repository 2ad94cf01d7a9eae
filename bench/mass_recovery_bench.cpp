// aether-bench mass-recovery: a node's cold start. A actors with N events
// each (a snapshot every K) are spawned at once and recover together; the
// raw limit is the store's own read of the same data (each actor's latest
// snapshot and the events after it) without actors, on as many threads as
// the runtime has I/O workers, in the same run.
#include "aether/core/error.hpp"
#include "aether/snapshot/capture.hpp"
#include "bench_state.hpp"
#include "harness.hpp"

#include <atomic>
#include <thread>

namespace aether::bench {

namespace {

struct mass_recovery_options {
  std::string store = "sqlite";
  std::string sync = "full";
  int64_t actors = 10000;
  int64_t events = 1000;
  int64_t snapshot_every = 100;
  int64_t repeat = 1;
};

std::string actor_id(int64_t i) {
  return "mass-" + std::to_string(i);
}

/// Runs `f(i)` for i in [0, n) on `threads` threads.
template <class F>
void parallel_for(int64_t n, size_t threads, F f) {
  std::atomic<int64_t> next{0};
  std::vector<std::thread> ts;
  for (size_t t = 0; t < threads; ++t)
    ts.emplace_back([&] {
      for (auto i = next++; i < n; i = next++)
        f(i);
    });
  for (auto& t : ts)
    t.join();
}

/// Writes every actor's history as a persisting actor with the policy
/// "a snapshot every K events" would have: batches of K events, a snapshot
/// after each.
void fill(event_store_with_snapshots& store, const mass_recovery_options& o,
          size_t threads) {
  std::atomic<bool> failed{false};
  std::string why;
  std::mutex mtx;
  parallel_for(o.actors, threads, [&](int64_t i) {
    auto id = actor_id(i);
    counter state;
    std::vector<event> batch;
    for (int64_t v = 1; v <= o.events && !failed; ++v) {
      batch.push_back(bench_event(id, v));
      state.apply(added{v % 10});
      bool boundary = o.snapshot_every > 0 && v % o.snapshot_every == 0;
      if (!boundary && v != o.events)
        continue;
      caf::error err;
      if (auto res = store.save_events(std::move(batch)); !res)
        err = res.error();
      batch.clear();
      if (!err && boundary)
        err = store.save_snapshot(create_snapshot(id, v, state));
      if (err) {
        std::lock_guard<std::mutex> guard{mtx};
        failed = true;
        why = describe(err);
      }
    }
  });
  if (failed)
    throw std::runtime_error("mass-recovery fill: " + why);
}

/// The raw limit: what recovery reads (the latest snapshot and the events
/// after it), read and decoded by the store, without actors.
double raw_read_ms(event_store_with_snapshots& store,
                   const mass_recovery_options& o, size_t threads) {
  std::atomic<int64_t> wrong{0};
  auto t0 = clock_type::now();
  parallel_for(o.actors, threads, [&](int64_t i) {
    auto id = actor_id(i);
    auto snap = store.get_latest_snapshot(id);
    int64_t from = 1;
    if (snap && *snap)
      from = (*snap)->version + 1;
    auto events = store.get_events(id, from);
    if (!snap || !events
        || from - 1 + static_cast<int64_t>(events->size()) != o.events)
      ++wrong;
  });
  auto ms = ms_since(t0);
  if (wrong > 0)
    throw std::runtime_error("mass-recovery: the raw read found "
                             + std::to_string(wrong.load())
                             + " actors without their history");
  return ms;
}

int run_mass_recovery(caf::actor_system& sys, const mass_recovery_options& o) {
  temp_folder tmp;
  auto store = make_store(o.store, tmp, "mass-recovery", o.sync == "full");
  store_io::options io;
  auto fill_t0 = clock_type::now();
  fill(*store, o, io.workers);
  auto fill_ms = ms_since(fill_t0);
  raw_read_ms(*store, o, io.workers); // warm-up (page cache, allocator)
  auto ctx = store_context::make(sys, store, io);
  persistence_options opts;
  opts.recovery_timeout = std::chrono::minutes{10};
  opts.snapshots.every_events(o.snapshot_every);
  caf::scoped_actor self{sys};
  // Rounds of a raw read and a cold start, alternating (the disk and the
  // VM drift between runs); the medians are reported.
  std::vector<double> raw_runs;
  std::vector<double> runs;
  int64_t from_snapshot = 0;
  int64_t replayed = 0;
  for (int64_t round = 0; round < std::max<int64_t>(o.repeat, 1); ++round) {
    raw_runs.push_back(raw_read_ms(*store, o, io.workers));
    // All spawned at once, as a node's cold start; done when every actor
    // answered (each answers after its recovery).
    auto t0 = clock_type::now();
    std::vector<caf::actor> hs;
    hs.reserve(static_cast<size_t>(o.actors));
    for (int64_t i = 0; i < o.actors; ++i)
      hs.push_back(sys.spawn<counter_actor>(actor_id(i), ctx, opts));
    int64_t wrong = 0;
    from_snapshot = 0;
    replayed = 0;
    ask_info_all(self, hs, opts.recovery_timeout + std::chrono::minutes{1},
                 [&](const std::vector<int64_t>& x) {
                   wrong += x[0] != o.events;
                   from_snapshot += x[1] != 0;
                   replayed += x[2];
                 });
    runs.push_back(ms_since(t0));
    for (auto& h : hs)
      self->send_exit(h, caf::exit_reason::user_shutdown);
    self->wait_for(hs);
    if (wrong > 0)
      throw std::runtime_error("mass-recovery: " + std::to_string(wrong)
                               + " actors did not recover their history");
  }
  auto ms = median(runs);
  auto raw_ms = median(raw_runs);
  boost::json::object r;
  r["scenario"] = "mass-recovery";
  r["store"] = o.store;
  r["actors"] = o.actors;
  r["events_per_actor"] = o.events;
  r["snapshot_every"] = o.snapshot_every;
  r["fill_ms"] = fill_ms;
  r["repeat"] = static_cast<int64_t>(runs.size());
  r["recovery_ms"] = ms;
  r["recovery_ms_spread"] = spread(runs);
  r["actors_per_s"] = static_cast<double>(o.actors) / (ms / 1000);
  r["from_snapshot"] = from_snapshot;
  r["events_replayed"] = replayed;
  r["raw_read_ms"] = raw_ms;
  r["raw_read_ms_spread"] = spread(raw_runs);
  r["raw_threads"] = static_cast<int64_t>(io.workers);
  r["ratio_to_raw"] = raw_ms / ms;
  emit(r);
  return 0;
}

} // namespace

void add_mass_recovery(CLI::App& app, runner& chosen) {
  auto o = std::make_shared<mass_recovery_options>();
  auto* sub = add_scenario(
    app, chosen, "mass-recovery",
    "a node's cold start: A actors spawned at once recover from their "
    "snapshots, against the store's own read of the same data",
    o, run_mass_recovery);
  add_store_options(*sub, o->store, o->sync);
  add_number(*sub, "--actors", o->actors, "actors");
  add_number(*sub, "--events", o->events, "events per actor");
  add_number(*sub, "--snapshot-every", o->snapshot_every,
             "a snapshot every K events");
  add_number(*sub, "--repeat", o->repeat,
             "rounds of a raw read and a cold start (medians reported)");
}

} // namespace aether::bench
