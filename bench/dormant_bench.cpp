// aether-bench actors --dormant: many dormant actors (history on SQLite)
// touched in random order through an actor registry under a limit of
// active actors: activations/s, command latency for a dormant actor
// (activation included), the same for actors passivated with a snapshot,
// and heap per active actor against a plain CAF actor in the same run.

#include "dormant_bench.hpp"

#include "aether/core/error.hpp"
#include "aether/runtime/actor_registry.hpp"
#include "bench_state.hpp"
#include "harness.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <numeric>
#include <random>
#include <thread>

namespace aether::bench {

namespace {

double pct(std::vector<double> xs, double q) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  return xs[static_cast<size_t>(q * static_cast<double>(xs.size() - 1))];
}

std::string id_of(int64_t i) {
  return "dormant-" + std::to_string(i);
}

/// Sends `info` to the actors `order` through the registry, at most
/// `window` at a time; returns each command's latency in ms (answers are
/// taken in send order).
std::vector<double> touch(caf::scoped_actor& self, const caf::actor& router,
                          const std::vector<int64_t>& order, size_t window) {
  using handle = decltype(self->request(router, caf::infinite, ask_atom::value,
                                        std::string{}, caf::message{}));
  std::vector<double> latency;
  latency.reserve(order.size());
  std::deque<std::pair<handle, clock_type::time_point>> in_flight;
  size_t next = 0;
  while (next < order.size() || !in_flight.empty()) {
    while (next < order.size() && in_flight.size() < window) {
      auto t = clock_type::now();
      in_flight.emplace_back(self->request(router, caf::infinite,
                                           ask_atom::value, id_of(order[next]),
                                           caf::make_message(info_atom::value)),
                             t);
      ++next;
    }
    auto& front = in_flight.front();
    front.first.receive(
      [&](const std::vector<int64_t>&) {
        latency.push_back(ms_since(front.second));
      },
      [&](caf::error& err) {
        throw std::runtime_error("dormant actor failed: "
                                 + caf::to_string(err));
      });
    in_flight.pop_front();
  }
  return latency;
}

/// Passivates every active actor but one (with or without a snapshot) and
/// waits until the registry counts at most one active.
void passivate_all(caf::scoped_actor& self, actor_registry& reg,
                   passivation_options p, bool snapshot, int64_t any_id) {
  auto limit = p.max_active;
  p.max_active = 1;
  p.snapshot = snapshot;
  if (auto err = reg.set_options(p))
    throw std::runtime_error(describe(err));
  touch(self, reg.router(), {any_id}, 1); // after the options, in order
  p.max_active = limit;
  if (auto err = reg.set_options(p))
    throw std::runtime_error(describe(err));
}

} // namespace

int run_dormant(caf::actor_system& sys, const dormant_options& a) {
  auto n = std::max<int64_t>(a.actors, 1);
  temp_folder tmp;
  auto store = make_store("sqlite", tmp, "dormant", a.sync == "full");
  // History: `events_per_actor` events per actor, through the store's
  // group commit.
  auto t0 = clock_type::now();
  std::atomic<int64_t> written{0};
  std::atomic<int64_t> failed{0};
  for (int64_t i = 0; i < n; ++i) {
    std::vector<event> batch;
    for (int64_t v = 1; v <= a.events_per_actor; ++v)
      batch.push_back(bench_event(id_of(i), v));
    store->append(std::move(batch), [&](caf::expected<append_result> r) {
      if (!r)
        failed += 1;
      written += 1;
    });
    // At most 10,000 batches queued (the queue would hold the whole
    // history otherwise).
    while (i + 1 - written.load() > 10000)
      std::this_thread::sleep_for(std::chrono::milliseconds{1});
  }
  while (written.load() < n)
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  if (failed > 0)
    throw std::runtime_error("writing the history failed");
  auto populate_s = ms_since(t0) / 1000;
  // One more write: the writer frees its last drained queue (tens of MB
  // that would otherwise be freed during the first measurement).
  if (auto r = store->save_events({bench_event("settle", 1)}); !r)
    throw std::runtime_error(describe(r.error()));
  auto ctx = store_context::make(sys, store, store_io::options{});
  passivation_options p;
  p.max_active = static_cast<size_t>(a.limit);
  p.idle_timeout = std::chrono::milliseconds{0};
  p.snapshot = false;
  auto reg = actor_registry::spawn(
    sys,
    [ctx](caf::actor_system& s, const std::string& id) {
      return s.spawn<counter_actor>(id, ctx, persistence_options{});
    },
    p);
  caf::scoped_actor self{sys};
  // 1. Every actor once, in random order.
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng{42};
  std::shuffle(order.begin(), order.end(), rng);
  // The first `limit` actors fill the registry: resident growth per
  // active actor (its state, the registry's entry, SQLite's cache).
  auto limit = std::min<int64_t>(a.limit, n);
  auto heap0 = heap_bytes_in_use();
  t0 = clock_type::now();
  auto cold = touch(self, reg->router(), {order.begin(), order.begin() + limit},
                    static_cast<size_t>(a.window));
  auto fill_ms = ms_since(t0);
  auto active_heap = heap_bytes_in_use() - heap0;
  // The raw limit: as many plain CAF actors, spawned while the persistent
  // ones live (neither reuses the other's freed memory).
  auto plain_heap0 = heap_bytes_in_use();
  std::vector<caf::actor> plain;
  plain.reserve(static_cast<size_t>(limit));
  for (int64_t i = 0; i < limit; ++i)
    plain.push_back(sys.spawn([](caf::event_based_actor*) -> caf::behavior {
      return {[](info_atom) {
        return std::vector<int64_t>{};
      }};
    }));
  for (auto& h : plain)
    self->request(h, caf::infinite, info_atom::value)
      .receive([](const std::vector<int64_t>&) {}, [](caf::error&) {});
  auto plain_heap = heap_bytes_in_use() - plain_heap0;
  for (auto& h : plain)
    self->send_exit(h, caf::exit_reason::user_shutdown);
  self->wait_for(plain);
  plain.clear();
  // The rest, each activation passivating the least recently used.
  auto t1 = clock_type::now();
  auto rest = touch(self, reg->router(), {order.begin() + limit, order.end()},
                    static_cast<size_t>(a.window));
  auto cold_s = (fill_ms + ms_since(t1)) / 1000;
  cold.insert(cold.end(), rest.begin(), rest.end());
  auto rss_touched = resident_bytes();
  auto m = reg->metrics().read();
  // 3. Activation from a snapshot: every actor passivated (no snapshot),
  // then `sample` actors touched and passivated with a snapshot, then
  // touched again one at a time.
  std::vector<int64_t> sample(order.begin(),
                              order.begin() + std::min<int64_t>(a.sample, n));
  passivate_all(self, *reg, p, false, order.back());
  auto saved0 = ctx.metrics->read().snapshots_saved;
  touch(self, reg->router(), sample, static_cast<size_t>(a.window));
  passivate_all(self, *reg, p, true, order.back());
  auto deadline = clock_type::now() + std::chrono::seconds{300};
  while (ctx.metrics->read().snapshots_saved - saved0 < sample.size() - 1
         && clock_type::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  auto replayed0 = ctx.metrics->read().events_replayed;
  std::vector<double> warm;
  for (auto id : sample) {
    auto lat = touch(self, reg->router(), {id}, 1);
    warm.push_back(lat.front());
  }
  auto replayed = ctx.metrics->read().events_replayed - replayed0;
  auto end = reg->metrics().read();
  boost::json::object o{
    {"scenario", "actors-dormant"},
    {"store", "sqlite"},
    {"sync", a.sync},
    {"actors", n},
    {"events_per_actor", a.events_per_actor},
    {"limit", a.limit},
    {"populate_s", populate_s},
    {"activations_per_s", static_cast<double>(n) / cold_s},
    {"cold_p50_ms", pct(cold, 0.5)},
    {"cold_p99_ms", pct(cold, 0.99)},
    {"active_peak", m.active_peak},
    {"passivations", m.passivations()},
    {"rss_bytes", static_cast<double>(rss_touched)},
    {"heap_bytes_per_active",
     static_cast<double>(active_heap) / static_cast<double>(limit)},
    {"raw_heap_bytes_per_actor",
     static_cast<double>(plain_heap) / static_cast<double>(limit)},
    {"snapshot_sample", static_cast<int64_t>(sample.size())},
    {"snapshot_p50_ms", pct(warm, 0.5)},
    {"snapshot_p99_ms", pct(warm, 0.99)},
    {"snapshot_events_replayed", replayed},
    {"activations", end.activations},
  };
  emit(o);
  return end.activations >= static_cast<uint64_t>(n) ? 0 : 1;
}

} // namespace aether::bench
