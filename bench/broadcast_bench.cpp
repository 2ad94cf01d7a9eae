// aether-bench broadcast: the NATS bridge between nodes against core NATS.
#include "aether/core/error.hpp"
#include "aether/nats_bridge/nats_bridge.hpp"
#include "bench_state.hpp"
#include "harness.hpp"
#include "raw_nats.hpp"

#include <condition_variable>
#include <mutex>
#include <nats/nats.h>

namespace aether::bench {

namespace {

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

struct broadcast_options {
  std::string store = "memory";
  std::string sync = "full";
  int64_t nodes = 2;
  int64_t events = 10000;
  int64_t actors = 10;
  // The nodes' connections write every publish at once (default: the
  // bridge's batches, flushed after each).
  bool send_asap = false;
};

int run_broadcast(caf::actor_system& sys, const broadcast_options& a) {
  auto nodes = std::max<int64_t>(a.nodes, 2);
  auto n = a.events;
  auto actors = std::max<int64_t>(a.actors, 1);
  auto kind = a.store;
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
      // The bridge flushes after each batch (see nats_bridge.hpp).
      o.send_asap = a.send_asap;
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
  r["bridge_only_complete"] = direct["complete"];
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
  auto raw_complete = raw.wait_for(static_cast<size_t>(n) * receivers);
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
    if (!raw_paced.wait_for(static_cast<size_t>(i) * receivers)) {
      raw_complete = false;
      break;
    }
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
  r["send_asap"] = a.send_asap;
  r["raw_delivered_per_s"] = raw_rate;
  r["raw_latency_p50_ms"] = raw_p50;
  r["raw_latency_p99_ms"] = raw_p99;
  r["raw_complete"] = raw_complete;
  r["ratio_to_raw"] = r["delivered_per_s"].as_double() / raw_rate;
  emit(r);
  // A rate from a run that lost messages is no figure: fail the scenario.
  auto all_complete = r["complete"].as_bool() && paced["complete"].as_bool()
                      && direct["complete"].as_bool() && raw_complete;
  return all_complete ? 0 : 1;
}

} // namespace

void add_broadcast(CLI::App& app, runner& chosen) {
  auto o = std::make_shared<broadcast_options>();
  auto* sub
    = add_scenario(app, chosen, "broadcast",
                   "events persisted on node 0, delivered through the NATS "
                   "bridge to the other nodes, against plain core NATS",
                   o, run_broadcast);
  add_store_options(*sub, o->store, o->sync);
  add_number(*sub, "--nodes", o->nodes, "nodes (one sends, the rest receive)",
             CLI::Range(int64_t{2}, int64_t{16}));
  add_number(*sub, "--events", o->events, "events");
  add_number(*sub, "--actors", o->actors, "actors on node 0 (loaded run)");
  sub->add_flag("--send-asap", o->send_asap,
                "connections that write every publish at once (default: "
                "the bridge writes batches and flushes)");
}

} // namespace aether::bench
