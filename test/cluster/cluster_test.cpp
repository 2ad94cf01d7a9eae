// A cluster of several nodes (actor systems in this process) on a real
// nats-server and the JetStream store: placement, routing, graceful leave,
// failover and bad input.
#include "aether/cluster/cluster.hpp"
#include "aether/cluster/lease.hpp"
#include "aether/cluster/local_cluster.hpp"
#include "aether/cluster/placement.hpp"
#include "aether/cluster/routed_message.hpp"
#include "aether/core/error.hpp"
#include "aether/jetstream/jetstream_store.hpp"
#include "aether/nats/kv_bucket.hpp"
#include "aether/nats/nats_subscription.hpp"
#include "aether/runtime/config.hpp"
#include "aether/runtime/runtime_error.hpp"
#include "aether/runtime/store_context.hpp"
#include "aether/testkit/cluster_testkit.hpp"
#include "catch.hpp"
#include "eventually.hpp"
#include "nats_server.hpp"
#include "tally.hpp"

#include <algorithm>
#include <atomic>
#include <caf/scoped_actor.hpp>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

using namespace aether;
using namespace aether::test;
using namespace std::chrono_literals;

namespace {

nats_options nats_opts() {
  return shared_nats_options();
}

std::string fresh_name() {
  static std::atomic<int> n{0};
  return "c" + std::to_string(::getpid()) + "-" + std::to_string(++n);
}

/// Cluster settings for tests: short TTLs so failover takes seconds.
cluster_options test_options(const std::string& name) {
  // The test kit's short timings: 64 shards, a 2 s lease, 100 ms polls.
  auto o = testkit::cluster_testkit_options::test_defaults();
  o.name = name;
  return o;
}

/// Every node opens the same JetStream store (its own connection) and runs
/// `tally` entities on it.
local_cluster::setup tally_setup(const std::string& name) {
  local_cluster::setup s;
  s.make_config = [] {
    auto cfg = std::make_unique<aether::config>();
    // stats_atom answers a vector: every node must know the type.
    cfg->add_message_type<std::vector<int64_t>>("std::vector<int64_t>");
    return cfg;
  };
  s.nats = nats_opts();
  s.options = test_options(name);
  s.make_types = [name](caf::actor_system& sys) {
    auto conn = nats_connection::connect(nats_opts());
    REQUIRE(conn);
    jetstream_store::options so;
    so.ns = name;
    auto store = jetstream_store::open(*conn, so);
    REQUIRE(store);
    auto ctx = store_context::make(
      sys, std::shared_ptr<event_store_with_snapshots>{std::move(*store)});
    entity_types types;
    types["tally"] = [ctx](caf::actor_system& sys, const std::string& id) {
      return sys.spawn<tally_actor>(id, ctx, persistence_options{});
    };
    return types;
  };
  return s;
}

/// Starts `n` nodes and waits until they own every shard once.
void start_nodes(local_cluster& c, int n) {
  for (int i = 0; i < n; ++i)
    REQUIRE(c.add_node());
  REQUIRE(c.wait_balanced(20s));
}

/// A request through a node's router; the answer or the error.
template <class T>
caf::expected<T>
ask(caf::actor_system& sys, const caf::actor& dest, caf::message msg) {
  caf::scoped_actor self{sys};
  caf::expected<T> result = caf::error{};
  self->request(dest, 30s, std::move(msg))
    .receive(
      [&](T& x) {
        result = std::move(x);
      },
      [&](caf::error& err) {
        result = std::move(err);
      });
  return result;
}

template <class T>
caf::expected<T>
route(local_cluster& c, size_t node, const std::string& id, caf::message msg) {
  return ask<T>(c.system(node), c.node(node).router(),
                caf::make_message(route_atom::value, std::string{"tally"}, id,
                                  std::move(msg)));
}

caf::message add(int64_t n) {
  return caf::make_message(add_atom::value, n);
}

std::string id_of(int i) {
  return "acc-" + std::to_string(i);
}

/// Entities on running nodes: each must be on exactly one node, in a shard
/// that node owns.
void check_exclusive(local_cluster& c, size_t expected_total) {
  std::map<std::string, size_t> where;
  for (size_t i = 0; i < c.size(); ++i) {
    if (!c.running(i))
      continue;
    auto owned = c.node(i).owned_shards();
    std::set<uint32_t> mine{owned.begin(), owned.end()};
    for (auto& name : c.node(i).active_entities()) {
      auto [it, fresh] = where.emplace(name, i);
      CHECK(fresh); // never on two nodes
      auto id = name.substr(name.find('/') + 1);
      CHECK(mine.count(c.node(i).shard_of("tally", id)) == 1);
    }
  }
  CHECK(where.size() == expected_total);
}

/// A type no node announced.
struct secret {
  int32_t x = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, secret& x) {
  return f(x.x);
}

} // namespace

TEST_CASE("kv_bucket: create, compare-and-swap, settings checked on open") {
  auto conn = nats_connection::connect(nats_opts());
  REQUIRE(conn);
  auto name = "kv_" + fresh_name();
  auto kv = kv_bucket::open(*conn, {name, 0ms, 1});
  REQUIRE(kv);
  auto r1 = (*kv)->create("k", "a");
  REQUIRE(r1);
  REQUIRE((*kv)->create("other", "x"));
  auto listed = (*kv)->keys();
  REQUIRE(listed);
  std::sort(listed->begin(), listed->end());
  CHECK(*listed == std::vector<std::string>{"k", "other"});
  auto again = (*kv)->create("k", "b");
  REQUIRE_FALSE(again);
  CHECK(is(again.error(), persistence_error::version_conflict));
  auto r2 = (*kv)->update("k", "c", *r1);
  REQUIRE(r2);
  CHECK(*r2 > *r1);
  auto stale = (*kv)->update("k", "d", *r1);
  REQUIRE_FALSE(stale);
  CHECK(is(stale.error(), persistence_error::version_conflict));
  auto got = (*kv)->get("k");
  REQUIRE(got);
  REQUIRE(*got);
  CHECK((*got)->value == "c");
  CHECK((*got)->revision == *r2);
  REQUIRE_FALSE((*kv)->remove("k"));
  got = (*kv)->get("k");
  REQUIRE(got);
  CHECK_FALSE(*got);
  auto other = kv_bucket::open(*conn, {name, 5s, 1});
  REQUIRE_FALSE(other);
  CHECK(describe(other.error()).find("ttl") != std::string::npos);
  auto bad = kv_bucket::open(*conn, {"a.b", 0ms, 1});
  REQUIRE_FALSE(bad);
  CHECK(is(bad.error(), persistence_error::invalid_argument));
}

// Regression: a node whose view of the members was a moment old took the
// lease of a node that had just joined (and claimed it) as a dead node's;
// both served the shard, and the lease ended up free while one served it.
TEST_CASE("nodes that join one right after the other never serve a shard "
          "twice; "
          "every lease names the node that serves it") {
  for (int round = 0; round < 3; ++round) {
    auto name = fresh_name();
    auto opts = test_options(name);
    struct member {
      aether::config cfg;
      std::unique_ptr<caf::actor_system> sys;
      std::shared_ptr<cluster> node;
    };
    std::vector<std::unique_ptr<member>> ms;
    for (int i = 0; i < 3; ++i) {
      ms.push_back(std::make_unique<member>());
      ms.back()->sys = std::make_unique<caf::actor_system>(ms.back()->cfg);
    }
    // One right after the other: each joins while the one before is still
    // claiming with a view of the members that lacks it.
    for (int i = 0; i < 3; ++i) {
      auto conn = nats_connection::connect(nats_opts());
      REQUIRE(conn);
      auto o = opts;
      o.node_id = "n" + std::to_string(i);
      entity_types types;
      types["tally"] = [](caf::actor_system&, const std::string&) {
        return caf::actor{};
      };
      auto joined = cluster::join(*ms[static_cast<size_t>(i)]->sys, *conn, o,
                                  types);
      REQUIRE(joined);
      ms[static_cast<size_t>(i)]->node = *joined;
    }
    auto conn = nats_connection::connect(nats_opts());
    REQUIRE(conn);
    auto leases = kv_bucket::open(*conn, {"aether_shards_" + name, 0ms, 1});
    REQUIRE(leases);
    // Settled: each shard owned by one node, the one its lease names, the
    // one placement says.
    auto settled = [&] {
      std::vector<std::string> owner(opts.shard_count);
      for (auto& m : ms)
        for (auto s : m->node->owned_shards()) {
          if (!owner[s].empty())
            return false;
          owner[s] = m->node->node_id();
        }
      for (uint32_t s = 0; s < opts.shard_count; ++s) {
        if (owner[s] != owner_of(s, {"n0", "n1", "n2"}))
          return false;
        auto e = (*leases)->get("shard." + std::to_string(s));
        if (!e || !*e)
          return false;
        auto l = decode_lease((**e).value);
        if (!l || l->node != owner[s])
          return false;
      }
      return true;
    };
    CHECK(eventually(settled, 20s));
    // And it stays so (no late double claim, no lease freed under a server).
    std::this_thread::sleep_for(1s);
    CHECK(settled());
    for (auto& m : ms)
      m->node->leave();
  }
}

TEST_CASE("3 nodes, 1,000 actors, requests to random nodes: each actor runs "
          "on exactly one node and every answer is right") {
  auto name = fresh_name();
  local_cluster c{tally_setup(name)};
  start_nodes(c, 3);
  constexpr int actors = 1000;
  std::vector<int64_t> sums(actors, 0);
  std::atomic<int> wrong{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> drivers;
  for (int d = 0; d < 4; ++d)
    drivers.emplace_back([&, d] {
      std::mt19937 rng(static_cast<unsigned>(d));
      for (int i = d; i < actors; i += 4) {
        for (int64_t n : {int64_t{1}, int64_t{i}}) {
          auto node = static_cast<size_t>(rng() % 3);
          auto r = route<int64_t>(c, node, id_of(i), add(n));
          if (!r) {
            ++failed;
            UNSCOPED_INFO(describe(r.error()));
            continue;
          }
          sums[static_cast<size_t>(i)] += n;
          if (*r != sums[static_cast<size_t>(i)])
            ++wrong;
        }
      }
    });
  for (auto& t : drivers)
    t.join();
  CHECK(failed == 0);
  CHECK(wrong == 0);
  check_exclusive(c, actors);
  uint64_t local = 0, remote = 0;
  for (size_t i = 0; i < 3; ++i) {
    local += c.node(i).metrics().routed_local;
    remote += c.node(i).metrics().routed_remote;
    // Every node got its share of the actors.
    CHECK(c.node(i).active_entities().size() > 200);
  }
  CHECK(local + remote == 2 * actors);
  CHECK(remote > 0);
  CHECK(local > 0);
  // A ref is a handle to one entity from any node.
  {
    caf::scoped_actor watcher{c.system(2)};
    {
      auto ref = c.node(2).ref("tally", id_of(5));
      CHECK(ask<int64_t>(c.system(2), ref, caf::make_message(get_atom::value))
            == sums[5]);
      watcher->monitor(ref);
    }
    // A ref nobody holds stops; the router it talked to keeps going.
    bool down = false;
    watcher->receive(
      [&](caf::down_msg&) {
        down = true;
      },
      caf::after(10s) >> [] {});
    CHECK(down);
  }
  CHECK(route<int64_t>(c, 2, id_of(6), caf::make_message(get_atom::value))
        == sums[6]);
  auto text = c.node(0).prometheus();
  CHECK(text.find("aether_cluster_shards_owned") != std::string::npos);
  CHECK(text.find("aether_cluster_remote_request_seconds_bucket")
        != std::string::npos);
}

TEST_CASE("a graceful leave under traffic hands its actors over with a "
          "snapshot; nothing lost, nothing answered twice") {
  auto name = fresh_name();
  local_cluster c{tally_setup(name)};
  start_nodes(c, 3);
  constexpr int actors = 200;
  std::vector<int64_t> sums(actors, 0);
  for (int i = 0; i < actors; ++i) {
    auto r = route<int64_t>(c, 0, id_of(i), add(1));
    REQUIRE(r);
    sums[static_cast<size_t>(i)] = *r;
  }
  auto leaving = c.node(1).active_entities();
  REQUIRE_FALSE(leaving.empty());
  std::atomic<bool> stop{false};
  std::atomic<int> failed{0};
  std::atomic<int> wrong{0};
  std::mutex mtx;
  std::thread driver{[&] {
    int64_t n = 2;
    while (!stop) {
      for (int i = 0; i < actors && !stop; i += 7) {
        auto node = static_cast<size_t>(n % 2 == 0 ? 0 : 2);
        auto r = route<int64_t>(c, node, id_of(i), add(n));
        std::lock_guard<std::mutex> guard{mtx};
        if (!r) {
          ++failed;
          UNSCOPED_INFO(describe(r.error()));
          continue;
        }
        sums[static_cast<size_t>(i)] += n;
        if (*r != sums[static_cast<size_t>(i)])
          ++wrong;
      }
      ++n;
    }
  }};
  std::this_thread::sleep_for(300ms); // traffic before the leave
  auto t0 = std::chrono::steady_clock::now();
  REQUIRE_FALSE(c.leave(1));
  auto leave_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - t0)
                    .count();
  REQUIRE(c.wait_balanced(10s));
  std::this_thread::sleep_for(300ms); // traffic after the leave
  stop = true;
  driver.join();
  CHECK(failed == 0);
  CHECK(wrong == 0);
  UNSCOPED_INFO("leave took " << leave_ms << " ms");
  // Every actor has the sum of its acknowledged commands; the ones that
  // moved recovered from the snapshot of the leave (no events replayed
  // unless a command ran after it).
  for (int i = 0; i < actors; ++i) {
    auto r = route<int64_t>(c, 0, id_of(i), caf::make_message(get_atom::value));
    REQUIRE(r);
    CHECK(*r == sums[static_cast<size_t>(i)]);
  }
  int from_snapshot = 0;
  for (auto& name_on_1 : leaving) {
    auto id = name_on_1.substr(name_on_1.find('/') + 1);
    auto st = route<std::vector<int64_t>>(c, 2, id,
                                          caf::make_message(stats_atom::value));
    REQUIRE(st);
    // {version, recovered_from_snapshot, events_replayed, count}
    if ((*st)[1] > 0 && (*st)[2] == 0)
      ++from_snapshot;
  }
  CHECK(from_snapshot == static_cast<int>(leaving.size()));
  check_exclusive(c, actors);
  CHECK(c.node(0).metrics().claims + c.node(2).metrics().claims >= 64);
}

TEST_CASE("a crashed node's shards fail over within the lease TTL; every "
          "acknowledged event survives") {
  auto name = fresh_name();
  local_cluster c{tally_setup(name)};
  start_nodes(c, 3);
  constexpr int actors = 150;
  std::vector<int64_t> sums(actors, 0);
  for (int i = 0; i < actors; ++i)
    for (int64_t n : {int64_t{3}, int64_t{4}}) {
      auto r = route<int64_t>(c, 0, id_of(i), add(n));
      REQUIRE(r);
      sums[static_cast<size_t>(i)] = *r;
    }
  auto lost = c.node(2).active_entities();
  REQUIRE_FALSE(lost.empty());
  auto victim = lost.front().substr(lost.front().find('/') + 1);
  auto t0 = std::chrono::steady_clock::now();
  c.crash(2);
  // The first command to an actor of the dead node waits for the failover.
  auto r = route<int64_t>(c, 0, victim, add(5));
  auto failover = std::chrono::steady_clock::now() - t0;
  REQUIRE(r);
  auto vi = std::stoi(victim.substr(4));
  sums[static_cast<size_t>(vi)] += 5;
  CHECK(*r == sums[static_cast<size_t>(vi)]);
  // TTL (2 s) + poll + claim + recovery: well under TTL + 1 s.
  CHECK(failover < 3s);
  UNSCOPED_INFO(
    "failover took "
    << std::chrono::duration_cast<std::chrono::milliseconds>(failover).count()
    << " ms");
  REQUIRE(c.wait_balanced(10s));
  for (int i = 0; i < actors; ++i) {
    auto got = route<int64_t>(c, static_cast<size_t>(i % 2), id_of(i),
                              caf::make_message(get_atom::value));
    REQUIRE(got);
    CHECK(*got == sums[static_cast<size_t>(i)]);
  }
  uint64_t failovers = c.node(0).metrics().failovers
                       + c.node(1).metrics().failovers;
  CHECK(failovers > 0);
  check_exclusive(c, actors);
  // The crashed node comes back (same id, new incarnation) and gets its
  // share again.
  REQUIRE_FALSE(c.restart(2));
  REQUIRE(c.wait_balanced(20s));
  CHECK_FALSE(c.node(2).owned_shards().empty());
}

TEST_CASE("bad input gets a clear error and the owner keeps running") {
  auto name = fresh_name();
  local_cluster c{tally_setup(name)};
  start_nodes(c, 2);
  auto& sys = c.system(0);
  auto router = c.node(0).router();
  // Unknown entity type.
  auto r1
    = ask<int64_t>(sys, router,
                   caf::make_message(route_atom::value, std::string{"nope"},
                                     std::string{"x"}, add(1)));
  REQUIRE_FALSE(r1);
  CHECK(is(r1.error(), persistence_error::invalid_argument));
  CHECK(describe(r1.error()).find("\"nope\"") != std::string::npos);
  CHECK(describe(r1.error()).find("tally") != std::string::npos);
  // Invalid id.
  auto r2 = route<int64_t>(c, 0, "", add(1));
  REQUIRE_FALSE(r2);
  CHECK(is(r2.error(), persistence_error::invalid_argument));
  // An unannounced message type to an entity on the other node.
  int remote_id = 0;
  auto owned0 = c.node(0).owned_shards();
  std::set<uint32_t> mine{owned0.begin(), owned0.end()};
  while (mine.count(c.node(0).shard_of("tally", id_of(remote_id))) > 0)
    ++remote_id;
  auto r3 = route<int64_t>(c, 0, id_of(remote_id),
                           caf::make_message(secret{1}));
  REQUIRE_FALSE(r3);
  CHECK(is(r3.error(), persistence_error::invalid_argument));
  CHECK(describe(r3.error()).find("not announced") != std::string::npos);
  // A malformed request published straight onto a shard subject: the
  // sender gets an error frame, the owner keeps serving.
  auto conn = nats_connection::connect(nats_opts());
  REQUIRE(conn);
  std::mutex mtx;
  std::string answer;
  auto sub = nats_subscription::subscribe(*conn, "test.reply." + name, "",
                                          [&](nats_message&& m) {
                                            std::lock_guard<std::mutex> g{mtx};
                                            answer = m.data;
                                          });
  REQUIRE(sub);
  auto shard = c.node(0).shard_of("tally", id_of(remote_id));
  auto invalid = [&] {
    return c.node(0).metrics().invalid + c.node(1).metrics().invalid;
  };
  auto invalid_before = invalid();
  REQUIRE_FALSE((*conn)->publish("aether.cluster." + name + ".shard."
                                   + std::to_string(shard),
                                 "garbage", "test.reply." + name));
  REQUIRE(eventually([&] {
    std::lock_guard<std::mutex> g{mtx};
    return !answer.empty();
  }));
  {
    std::lock_guard<std::mutex> g{mtx};
    auto reply = decode_reply(sys, answer);
    REQUIRE(reply);
    CHECK(reply->status == reply_status::error);
    CHECK(describe(reply->err).find("malformed routed message")
          != std::string::npos);
  }
  CHECK(route<int64_t>(c, 0, id_of(remote_id), add(2)) == int64_t{2});
  // Counted by the node that read it: the owner, or node 0 while its
  // subscription to a shard it just handed over still lingers.
  CHECK(invalid() == invalid_before + 1);
}

TEST_CASE("requests for a shard without an owner wait, bounded, then fail "
          "with unavailable naming the shard") {
  auto name = fresh_name();
  local_cluster c{tally_setup(name)};
  start_nodes(c, 1);
  // A second node with a short wait and a buffer of one request.
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto conn = nats_connection::connect(nats_opts());
  REQUIRE(conn);
  auto opts = test_options(name);
  opts.node_id = "impatient";
  opts.unavailable_timeout = 300ms;
  opts.buffer_size = 1;
  entity_types types;
  types["tally"] = [](caf::actor_system&, const std::string&) {
    return caf::actor{};
  };
  c.crash(0); // its shards stay leased until its heartbeat expires
  auto node = cluster::join(sys, *conn, opts, types);
  REQUIRE(node);
  auto shard = (*node)->shard_of("tally", "acc-1");
  auto t0 = std::chrono::steady_clock::now();
  auto r
    = ask<int64_t>(sys, (*node)->router(),
                   caf::make_message(route_atom::value, std::string{"tally"},
                                     std::string{"acc-1"}, add(1)));
  REQUIRE_FALSE(r);
  CHECK(std::chrono::steady_clock::now() - t0 < 2s);
  CHECK(is(r.error(), persistence_error::unavailable));
  CHECK(describe(r.error()).find("shard " + std::to_string(shard))
        != std::string::npos);
  CHECK((*node)->metrics().refused >= 1);
  (*node)->leave();
}

TEST_CASE("remembered entities start on their shard's next owner without a "
          "message; one that stopped on its own is forgotten") {
  auto name = fresh_name();
  auto setup = tally_setup(name);
  setup.options.remember_entities = true;
  local_cluster c{setup};
  start_nodes(c, 2);
  // Entities on node 1's shards, started by requests through node 0.
  auto owned1 = c.node(1).owned_shards();
  std::set<uint32_t> on1{owned1.begin(), owned1.end()};
  std::vector<std::string> ids;
  for (int i = 0; ids.size() < 20; ++i)
    if (on1.count(c.node(0).shard_of("tally", id_of(i))) > 0)
      ids.push_back(id_of(i));
  for (auto& id : ids)
    REQUIRE(route<int64_t>(c, 0, id, add(1)) == int64_t{1});
  // Node 1 wrote them (a key per shard, a JSON array of [type, id]).
  auto conn = nats_connection::connect(nats_opts());
  REQUIRE(conn);
  auto kv = kv_bucket::open(*conn, {"aether_entities_" + name, 0ms, 1});
  REQUIRE(kv);
  auto stored = [&](const std::string& id) {
    auto e
      = (*kv)->get("shard." + std::to_string(c.node(0).shard_of("tally", id)));
    return e && *e
           && (*e)->value.find("[\"tally\",\"" + id + "\"]")
                != std::string::npos;
  };
  REQUIRE(eventually([&] {
    return std::all_of(ids.begin(), ids.end(), stored);
  }));
  // The last one passivates itself: it stopped on its own, it is forgotten.
  auto quitter = ids.back();
  ids.pop_back();
  REQUIRE(
    route<int64_t>(c, 0, quitter, caf::make_message(passivate_atom::value)));
  REQUIRE(eventually([&] {
    return !stored(quitter);
  }));
  CHECK(std::all_of(ids.begin(), ids.end(), stored));
  // Node 1 dies: node 0 takes its shards and starts the 19 at once.
  c.crash(1);
  REQUIRE(eventually(
    [&] {
      return c.node(0).owned_shards().size() == 64;
    },
    20s));
  auto active0 = [&] {
    auto v = c.node(0).active_entities();
    return std::set<std::string>{v.begin(), v.end()};
  };
  REQUIRE(eventually([&] {
    auto a = active0();
    return std::all_of(ids.begin(), ids.end(), [&](const std::string& id) {
      return a.count("tally/" + id) > 0;
    });
  }));
  // The router took the claims' recalls before this request: nothing else
  // started (the quitter stays stopped).
  REQUIRE(route<int64_t>(c, 0, "barrier", add(5)) == int64_t{5});
  auto a = active0();
  CHECK(a.count("tally/" + quitter) == 0);
  CHECK(a.size() == ids.size() + 1);
  CHECK(c.node(0).metrics().remembered_started == ids.size());
  CHECK(c.node(0).prometheus().find("aether_cluster_remembered_started_total "
                                    + std::to_string(ids.size()))
        != std::string::npos);
  // The state came back with them.
  CHECK(route<int64_t>(c, 0, ids.front(), add(1)) == int64_t{2});
  // Node 1 comes back: the shards it takes over are handed over (the
  // entities passivate, they stay remembered) and it starts their entities.
  REQUIRE_FALSE(c.restart(1));
  REQUIRE(c.wait_balanced(20s));
  REQUIRE(eventually(
    [&] {
      for (auto& id : ids) {
        auto s = c.node(0).shard_of("tally", id);
        bool found = false;
        for (size_t n = 0; n < 2; ++n) {
          auto owned = c.node(n).owned_shards();
          auto act = c.node(n).active_entities();
          if (std::count(owned.begin(), owned.end(), s) > 0)
            found = std::count(act.begin(), act.end(), "tally/" + id) > 0;
        }
        if (!found)
          return false;
      }
      return true;
    },
    20s));
  check_exclusive(c, ids.size() + 1);
}

TEST_CASE("an idle entity passivates with a snapshot and comes back on its "
          "next routed request, replaying nothing") {
  auto setup = tally_setup(fresh_name());
  setup.options.passivation.idle_timeout = 300ms;
  setup.options.passivation.check_interval = 50ms;
  local_cluster c{setup};
  start_nodes(c, 2);
  REQUIRE(route<int64_t>(c, 0, "idle-1", add(5)) == 5);
  REQUIRE(route<int64_t>(c, 1, "idle-1", add(2)) == 7);
  CHECK(eventually(
    [&] {
      return c.node(0).active_entities().empty()
             && c.node(1).active_entities().empty();
    },
    10s));
  auto owner = c.node(0).metrics().activations.read().activations > 0 ? 0 : 1;
  auto m = c.node(owner).metrics().activations.read();
  CHECK(m.passivations_idle == 1);
  CHECK(m.active == 0);
  CHECK(c.node(owner).prometheus().find(
          "aether_passivations_total{cause=\"idle\"} 1\n")
        != std::string::npos);
  // {version, recovered_from_snapshot, events_replayed, count}
  auto st = route<std::vector<int64_t>>(c, 1 - static_cast<size_t>(owner),
                                        "idle-1",
                                        caf::make_message(stats_atom::value));
  REQUIRE(st);
  CHECK((*st)[0] == 2);
  CHECK((*st)[1] == 2);
  CHECK((*st)[2] == 0);
  CHECK(c.node(owner).metrics().activations.read().activations == 2);
}

TEST_CASE("under a count limit a node passivates its least recently used "
          "entities; requests for one that is passivating keep their "
          "order") {
  auto setup = tally_setup(fresh_name());
  setup.options.passivation.max_active = 2;
  local_cluster c{setup};
  start_nodes(c, 1);
  caf::scoped_actor self{c.system(0)};
  using handle
    = decltype(self->request(c.node(0).router(), 30s, caf::message{}));
  constexpr int rounds = 10;
  constexpr int entities = 6;
  std::vector<int64_t> sums(entities, 0);
  int wrong = 0;
  int failed = 0;
  // Each round sends two requests to each entity at once, then waits for
  // the answers: between rounds all but two entities are passivated, so a
  // round's requests find them passivating or stopped.
  for (int r = 0; r < rounds; ++r) {
    std::vector<handle> asks;
    std::vector<int64_t> expected;
    for (int k = 0; k < 2 * entities; ++k) {
      auto n = int64_t{r * 100 + k + 1};
      auto& sum = sums[static_cast<size_t>(k % entities)];
      sum += n;
      expected.push_back(sum);
      asks.push_back(self->request(
        c.node(0).router(), 30s,
        caf::make_message(route_atom::value, std::string{"tally"},
                          "lim-" + std::to_string(k % entities), add(n))));
    }
    for (size_t k = 0; k < asks.size(); ++k)
      asks[k].receive(
        [&](int64_t x) {
          wrong += x == expected[k] ? 0 : 1;
        },
        [&](caf::error& err) {
          ++failed;
          UNSCOPED_INFO(describe(err));
        });
  }
  CHECK(failed == 0);
  CHECK(wrong == 0);
  auto m = c.node(0).metrics().activations.read();
  CHECK(m.passivations_count_limit > 0);
  CHECK(m.activations > static_cast<uint64_t>(entities));
  CHECK(eventually([&] {
    return c.node(0).active_entities().size() <= 2;
  }));
  // Lowered at run time: one entity stays.
  auto lower = setup.options.passivation;
  lower.max_active = 1;
  REQUIRE_FALSE(c.node(0).set_passivation(lower));
  CHECK(eventually([&] {
    return c.node(0).active_entities().size() == 1;
  }));
  lower.stop_timeout = std::chrono::milliseconds{0};
  CHECK(c.node(0).set_passivation(lower));
}

TEST_CASE("an entity that ignores its passivation is killed after the stop "
          "timeout and comes back on its next request") {
  auto setup = tally_setup(fresh_name());
  setup.options.passivation.idle_timeout = 200ms;
  setup.options.passivation.check_interval = 50ms;
  setup.options.passivation.stop_timeout = 300ms;
  auto tally_types = setup.make_types;
  setup.make_types = [tally_types](caf::actor_system& sys) {
    auto types = tally_types(sys);
    types["deaf"] = [](caf::actor_system& s, const std::string&) {
      return s.spawn([]() -> caf::behavior {
        return {[](add_atom, int64_t n) {
          return n;
        }};
      });
    };
    return types;
  };
  local_cluster c{setup};
  start_nodes(c, 1);
  auto deaf = [&](int64_t n) {
    return ask<int64_t>(c.system(0), c.node(0).router(),
                        caf::make_message(route_atom::value,
                                          std::string{"deaf"},
                                          std::string{"d1"}, add(n)));
  };
  REQUIRE(deaf(7) == 7);
  CHECK(eventually([&] {
    return c.node(0).metrics().activations.read().passivation_kills == 1;
  }));
  CHECK(eventually([&] {
    return c.node(0).active_entities().empty();
  }));
  CHECK(deaf(8) == 8);
  CHECK(c.node(0).metrics().activations.read().activations == 2);
}
