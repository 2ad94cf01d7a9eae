// aether-bench recovery: one actor's recovery against one raw read.
#include "aether/core/error.hpp"
#include "aether/snapshot/capture.hpp"
#include "bench_state.hpp"
#include "harness.hpp"
#include "raw_nats.hpp"

#include <nats/nats.h>

namespace aether::bench {

namespace {

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

struct recovery_options {
  std::string store = "memory";
  std::string sync = "full";
  int64_t events = 100000;
  int64_t snapshot_every = 1000;
  int64_t repeat = 3;
};

int run_recovery(caf::actor_system& sys, const recovery_options& a) {
  auto kind = a.store;
  auto n = a.events;
  auto k = a.snapshot_every;
  auto repeat = std::max<int64_t>(a.repeat, 1);
  bool full_sync = a.sync == "full";
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
    state.apply(added{v % 10});
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
  emit(o);
  return with.version == n && without.version == n ? 0 : 1;
}

} // namespace

void add_recovery(CLI::App& app, runner& chosen) {
  auto o = std::make_shared<recovery_options>();
  auto* sub = add_scenario(app, chosen, "recovery",
                           "recovery time of one actor: with a snapshot, "
                           "without, and one raw read of the same events",
                           o, run_recovery);
  add_store_options(*sub, o->store, o->sync);
  add_number(*sub, "--events", o->events, "events of the actor");
  add_number(*sub, "--snapshot-every", o->snapshot_every,
             "a snapshot every K events");
  add_number(*sub, "--repeat", o->repeat, "runs (the median is reported)");
}

} // namespace aether::bench
