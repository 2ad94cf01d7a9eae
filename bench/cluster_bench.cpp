// aether-bench cluster: routed requests on a 2-node cluster (one process,
// `local_cluster`, one nats-server), local and remote, against raw NATS
// request/reply of the same bytes measured in the same run; failover time
// for a shard with many active actors after a node's crash; the time a shard
// takes to move on a graceful leave.
#include "aether/cluster/local_cluster.hpp"
#include "aether/cluster/routed_message.hpp"
#include "aether/persistence/memory_store.hpp"
#include "aether/runtime/event_sourced.hpp"
#include "aether/runtime/store_context.hpp"
#include "bench_state.hpp"
#include "harness.hpp"
#include "raw_nats.hpp"

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <caf/all.hpp>
#include <chrono>
#include <iostream>
#include <nats/nats.h>
#include <stdexcept>
#include <thread>

namespace aether::bench {

namespace {

using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;
using ping_atom = caf::atom_constant<caf::atom("ping")>;

double ms_between(clock_type::time_point a, clock_type::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

double pct(std::vector<double> xs, double q) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  auto i = static_cast<size_t>(q * static_cast<double>(xs.size() - 1));
  return xs[i];
}

/// The entity of the benchmark: a persistent counter on a memory store
/// shared by both nodes (one process), so a moved actor recovers there.
struct counted {};
AETHER_EVENT(counted, "added", ())

struct count_state {
  int64_t n = 0;
  void apply(const counted&) {
    ++n;
  }
};
BOOST_DESCRIBE_STRUCT(count_state, (), (n))

class count_actor : public event_sourced<count_state, events<counted>> {
public:
  using event_sourced::event_sourced;
  caf::behavior commands() override {
    return {
      [this](ping_atom, int64_t x) {
        return x;
      },
      [this](add_atom) {
        return persist(counted{}).then_reply(&count_state::n);
      },
    };
  }
};

/// A request from `self` (one per thread, made before the clock starts, as a
/// caller in an application is an actor that already exists).
caf::expected<int64_t> ask(caf::scoped_actor& self, const caf::actor& router,
                           const std::string& id, caf::message msg) {
  caf::expected<int64_t> out = caf::error{};
  self
    ->request(router, 30s, route_atom::value, std::string{"count"}, id,
              std::move(msg))
    .receive(
      [&](int64_t x) {
        out = x;
      },
      [&](caf::error& e) {
        out = e;
      });
  return out;
}

/// Ids whose shard node `owner` holds (or, with `shard`, that map to it).
std::vector<std::string> ids_on(cluster& node, size_t n, bool owned,
                                const std::string& prefix, int64_t shard = -1) {
  auto owned_list = node.owned_shards();
  std::vector<std::string> out;
  for (int64_t i = 0; out.size() < n; ++i) {
    auto id = prefix + std::to_string(i);
    auto s = node.shard_of("count", id);
    bool mine = std::find(owned_list.begin(), owned_list.end(), s)
                != owned_list.end();
    if (shard >= 0 ? s == static_cast<uint32_t>(shard) : mine == owned)
      out.push_back(id);
  }
  return out;
}

struct latencies {
  std::vector<double> ms;
  double per_s = 0;
};

/// Paced: one request at a time. Loaded: `in_flight` requests at once.
latencies measure(caf::actor_system& sys, const caf::actor& router,
                  const std::vector<std::string>& ids, int64_t n,
                  int in_flight) {
  latencies out;
  if (in_flight <= 1) {
    caf::scoped_actor self{sys};
    for (int64_t i = 0; i < n; ++i) {
      auto t0 = clock_type::now();
      auto r = ask(self, router, ids[static_cast<size_t>(i) % ids.size()],
                   caf::make_message(ping_atom::value, i));
      if (!r || *r != i)
        throw std::runtime_error("routed request failed");
      out.ms.push_back(ms_between(t0, clock_type::now()));
    }
    return out;
  }
  std::atomic<int64_t> next{0};
  std::atomic<bool> failed{false};
  auto t0 = clock_type::now();
  std::vector<std::thread> ts;
  for (int t = 0; t < in_flight; ++t)
    ts.emplace_back([&] {
      caf::scoped_actor self{sys};
      for (auto i = next++; i < n; i = next++) {
        auto r = ask(self, router, ids[static_cast<size_t>(i) % ids.size()],
                     caf::make_message(ping_atom::value, i));
        if (!r || *r != i)
          failed = true;
      }
    });
  for (auto& t : ts)
    t.join();
  if (failed)
    throw std::runtime_error("routed request failed");
  out.per_s = static_cast<double>(n)
              / std::chrono::duration<double>(clock_type::now() - t0).count();
  return out;
}

/// Raw core NATS request/reply: a replier echoing on its own connection,
/// and a client on another, both as aether's connections (no publish delay:
/// nats.c batches ~1 ms else).
class raw_echo {
public:
  explicit raw_echo(const std::string& url) : server_side_(url), client_(url) {
    natsConnection_Subscribe(
      &sub_, server_side_.conn(), "raw.cluster.bench",
      [](natsConnection* nc, natsSubscription*, natsMsg* m, void*) {
        natsConnection_Publish(nc, natsMsg_GetReply(m), natsMsg_GetData(m),
                               natsMsg_GetDataLength(m));
        natsMsg_Destroy(m);
      },
      nullptr);
    natsConnection_Flush(server_side_.conn());
  }

  ~raw_echo() {
    natsSubscription_Unsubscribe(sub_);
    natsSubscription_Destroy(sub_);
  }

  raw_echo(const raw_echo&) = delete;
  raw_echo& operator=(const raw_echo&) = delete;

  void one(const std::string& bytes) {
    natsMsg* reply = nullptr;
    auto s = natsConnection_Request(&reply, client_.conn(), "raw.cluster.bench",
                                    bytes.data(),
                                    static_cast<int>(bytes.size()), 5000);
    if (s != NATS_OK)
      throw std::runtime_error("raw request failed");
    natsMsg_Destroy(reply);
  }

  /// Paced: one request at a time. Loaded: `in_flight` threads at once.
  latencies measure(const std::string& bytes, int64_t n, int in_flight) {
    latencies out;
    if (in_flight <= 1) {
      for (int64_t i = 0; i < n; ++i) {
        auto t0 = clock_type::now();
        one(bytes);
        out.ms.push_back(ms_between(t0, clock_type::now()));
      }
      return out;
    }
    auto t0 = clock_type::now();
    std::atomic<int64_t> next{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < in_flight; ++t)
      ts.emplace_back([&] {
        while (next++ < n)
          one(bytes);
      });
    for (auto& t : ts)
      t.join();
    out.per_s = static_cast<double>(n)
                / std::chrono::duration<double>(clock_type::now() - t0).count();
    return out;
  }

private:
  bench::raw_nats server_side_;
  bench::raw_nats client_;
  natsSubscription* sub_ = nullptr;
};

/// Sends `add` to every id through `router` until each answered once;
/// returns the time of the first and of the last answer.
std::pair<double, double> until_all_answer(caf::actor_system& sys,
                                           const caf::actor& router,
                                           const std::vector<std::string>& ids,
                                           clock_type::time_point since) {
  std::atomic<size_t> next{0};
  std::atomic<int64_t> first_ns{-1};
  std::atomic<bool> failed{false};
  std::vector<std::thread> ts;
  for (int t = 0; t < 16; ++t)
    ts.emplace_back([&] {
      caf::scoped_actor self{sys};
      for (auto i = next++; i < ids.size(); i = next++) {
        auto r = ask(self, router, ids[i], caf::make_message(add_atom::value));
        if (!r) {
          failed = true;
          continue;
        }
        int64_t none = -1;
        auto now = (clock_type::now() - since).count();
        first_ns.compare_exchange_strong(none, now);
      }
    });
  for (auto& t : ts)
    t.join();
  if (failed)
    throw std::runtime_error("a command after the move failed");
  return {static_cast<double>(first_ns.load()) / 1e6,
          ms_between(since, clock_type::now())};
}

int run_cluster(const std::string& url, int64_t requests, int64_t actors) {
  auto store = std::make_shared<memory_store>();
  local_cluster::setup s;
  s.nats.servers = {url};
  s.options.name = "bench" + std::to_string(::getpid());
  s.options.shard_count = 64;
  s.options.lease_ttl = 2s;
  s.options.renew_interval = 500ms;
  s.options.poll_interval = 100ms;
  s.make_types = [store](caf::actor_system& sys) {
    auto ctx = store_context::make(sys, store);
    entity_types types;
    types["count"] = [ctx](caf::actor_system& sys, const std::string& id) {
      return sys.spawn<count_actor>(id, ctx, persistence_options{});
    };
    return types;
  };
  local_cluster c{s};
  for (int i = 0; i < 2; ++i)
    if (!c.add_node())
      throw std::runtime_error("cannot start a cluster node");
  if (!c.wait_balanced(30s))
    throw std::runtime_error("the cluster did not balance");
  auto& sys = c.system(0);
  auto router = c.node(0).router();
  auto local_ids = ids_on(c.node(0), 100, true, "l-");
  auto remote_ids = ids_on(c.node(0), 100, false, "r-");
  // Warm up: start the entities, touch the paths.
  measure(sys, router, local_ids, 200, 1);
  measure(sys, router, remote_ids, 200, 1);
  auto frame = encode_request(sys, "count", remote_ids[0],
                              caf::make_message(ping_atom::value, int64_t{1}));
  if (!frame)
    throw std::runtime_error("cannot encode");
  raw_echo raw_nats{url};
  raw_nats.measure(*frame, 200, 1);
  // Paced latencies in interleaved rounds: this VM's speed drifts over
  // seconds (raw p50 between 0.04 and 0.17 ms from one run to the next), so
  // the routed requests and the raw ones they are compared with see the
  // same machine.
  latencies local, remote, raw;
  constexpr int rounds = 10;
  auto per_round = std::max<int64_t>(1, requests / rounds);
  auto append = [](latencies& to, latencies from) {
    to.ms.insert(to.ms.end(), from.ms.begin(), from.ms.end());
  };
  for (int r = 0; r < rounds; ++r) {
    append(local, measure(sys, router, local_ids, per_round, 1));
    append(remote, measure(sys, router, remote_ids, per_round, 1));
    append(raw, raw_nats.measure(*frame, per_round, 1));
  }
  local.per_s = measure(sys, router, local_ids, requests * 4, 16).per_s;
  remote.per_s = measure(sys, router, remote_ids, requests * 4, 16).per_s;
  raw.per_s = raw_nats.measure(*frame, requests * 4, 16).per_s;

  // Failover: a shard of node 1 with `actors` active actors; node 1 dies.
  auto shard1 = c.node(1).owned_shards().front();
  auto moving = ids_on(c.node(0), static_cast<size_t>(actors), false, "f-",
                       shard1);
  until_all_answer(sys, router, moving, clock_type::now());
  auto t_crash = clock_type::now();
  c.crash(1);
  auto [failover_first, failover_all] = until_all_answer(sys, router, moving,
                                                         t_crash);
  // Graceful move: node 1 comes back; a shard of it with `actors` active
  // actors moves when it leaves.
  if (c.restart(1) || !c.wait_balanced(30s))
    throw std::runtime_error("node 1 did not come back");
  auto shard2 = c.node(1).owned_shards().front();
  auto leaving = ids_on(c.node(0), static_cast<size_t>(actors), false, "g-",
                        shard2);
  until_all_answer(sys, router, leaving, clock_type::now());
  auto t_leave = clock_type::now();
  std::thread leaver{[&] {
    c.leave(1);
  }};
  auto [move_first, move_all] = until_all_answer(sys, router, leaving, t_leave);
  leaver.join();
  auto leave_ms = ms_between(t_leave, clock_type::now());

  boost::json::object r;
  r["scenario"] = "cluster";
  r["nodes"] = 2;
  r["shards"] = s.options.shard_count;
  r["frame_bytes"] = frame->size();
  r["requests"] = requests;
  r["local_p50_ms"] = pct(local.ms, 0.5);
  r["local_p99_ms"] = pct(local.ms, 0.99);
  r["local_per_s"] = local.per_s;
  r["remote_p50_ms"] = pct(remote.ms, 0.5);
  r["remote_p99_ms"] = pct(remote.ms, 0.99);
  r["remote_per_s"] = remote.per_s;
  r["raw_request_reply_p50_ms"] = pct(raw.ms, 0.5);
  r["raw_request_reply_p99_ms"] = pct(raw.ms, 0.99);
  r["raw_request_reply_per_s"] = raw.per_s;
  r["remote_p50_to_raw"] = pct(remote.ms, 0.5) / pct(raw.ms, 0.5);
  r["lease_ttl_ms"] = s.options.lease_ttl.count();
  r["shard_actors"] = actors;
  r["failover_first_ms"] = failover_first;
  r["failover_all_ms"] = failover_all;
  r["move_first_ms"] = move_first;
  r["move_all_ms"] = move_all;
  r["leave_ms"] = leave_ms;
  emit(r);
  return 0;
}

} // namespace

void add_cluster(CLI::App& app, runner& chosen) {
  struct cluster_options {
    int64_t requests = 5000;
    int64_t shard_actors = 1000;
  };
  auto o = std::make_shared<cluster_options>();
  auto* sub = add_scenario(
    app, chosen, "cluster",
    "two cluster nodes: local and remote routing against core NATS "
    "request/reply, failover and hand-over",
    o, [](caf::actor_system&, const cluster_options& x) {
      nats(); // the server
      return run_cluster(nats_url, x.requests, x.shard_actors);
    });
  add_number(*sub, "--requests", o->requests, "requests per measurement");
  add_number(*sub, "--shard-actors", o->shard_actors,
             "actors of the shard that fails over");
}

} // namespace aether::bench
