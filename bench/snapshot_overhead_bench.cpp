// aether-bench snapshot-overhead: what snapshots cost a persisting actor.
#include "aether/core/error.hpp"
#include "bench_state.hpp"
#include "harness.hpp"

namespace aether::bench {

namespace {

// -- snapshot overhead: persist with a snapshot every K events against none --

struct snapshot_overhead_options {
  std::string store = "memory";
  std::string sync = "full";
  int64_t actors = 100;
  int64_t events = 20000;
  int64_t every = 100;
  int64_t repeat = 3;
};

int run_snapshot_overhead(caf::actor_system& sys,
                          const snapshot_overhead_options& a) {
  auto kind = a.store;
  auto actors = std::max<int64_t>(a.actors, 1);
  auto n = a.events;
  auto k = std::max<int64_t>(a.every, 1);
  auto repeat = std::max<int64_t>(a.repeat, 1);
  bool full_sync = a.sync == "full";
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
  emit(o);
  return 0;
}

} // namespace

void add_snapshot_overhead(CLI::App& app, runner& chosen) {
  auto o = std::make_shared<snapshot_overhead_options>();
  auto* sub
    = add_scenario(app, chosen, "snapshot-overhead",
                   "persist with a snapshot every K events against none", o,
                   run_snapshot_overhead);
  add_store_options(*sub, o->store, o->sync);
  add_number(*sub, "--actors", o->actors, "actors");
  add_number(*sub, "--events", o->events, "events in all");
  add_number(*sub, "--every", o->every, "a snapshot every K events");
  add_number(*sub, "--repeat", o->repeat, "runs of each (interleaved)");
}

} // namespace aether::bench
