// One node of the sharded demo cluster (examples/cluster/run-cluster): bank
// accounts as persistent actors on a replicated JetStream store, each living
// on exactly one node (aether::cluster: shards leased in NATS, commands
// routed from any node), a local event bus bridged to the other nodes over
// NATS, and a read model that follows every account. The demo driver talks
// to any node over NATS request/reply on `demo.node.<id>` with small JSON
// commands; the node routes them to the account's owner. SIGTERM leaves the
// cluster gracefully (snapshots, hand-over); kill -9 is a failover.
//
//   cluster_node <node-id> <nats-url>[,<nats-url>...]
#include "../demo_account.hpp"
#include "aether/cluster/cluster.hpp"
#include "aether/cluster/placement.hpp"
#include "aether/cluster_projections/cluster_projections.hpp"
#include "aether/cluster_projections/kv_offset_store.hpp"
#include "aether/http/http_endpoints.hpp"
#include "aether/http/readiness.hpp"
#include "aether/jetstream/jetstream_store.hpp"
#include "aether/nats/kv_bucket.hpp"
#include "aether/nats/nats_subscription.hpp"
#include "aether/nats_bridge/nats_bridge.hpp"
#include "aether/runtime/config.hpp"
#include "aether/runtime/event_follower.hpp"

#include <atomic>
#include <boost/json.hpp>
#include <csignal>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

using namespace std::chrono_literals;
constexpr const char* ns = "bank";

// What this node's read model has seen of each account.
struct read_model {
  std::mutex m;
  std::map<std::string, std::pair<int64_t, int64_t>> accounts; // version, sum
};

// The bank's totals: a read model in a NATS KV bucket (`bank_totals`, key
// the account, value "<version> <balance>"), fed by the projection
// "totals" that runs on one node of the cluster at a time. At-least-once:
// an event at or below the stored version was handled before and is
// skipped, so handling it again changes nothing.
caf::error add_to_totals(aether::kv_bucket& totals,
                         const aether::positioned_event& x) {
  auto cur = totals.get(x.ev.actor_id);
  if (!cur)
    return cur.error();
  int64_t version = 0;
  int64_t balance = 0;
  if (*cur)
    std::istringstream{(*cur)->value} >> version >> balance;
  if (x.ev.version <= version)
    return caf::none; // handled before this projection's last offset
  if (x.ev.version != version + 1)
    return aether::invalid_field("version", "the totals of " + x.ev.actor_id
                                              + " are at version "
                                              + std::to_string(version));
  auto amount = x.ev.data.at("amount").as_int64();
  balance += x.ev.type == "deposited" ? amount : -amount;
  auto value = std::to_string(x.ev.version) + " " + std::to_string(balance);
  auto r = *cur ? totals.update(x.ev.actor_id, value, (*cur)->revision)
                : totals.create(x.ev.actor_id, value);
  return r ? caf::none : r.error();
}

struct node {
  node(caf::actor_system& sys, aether::store_context ctx)
    : sys(sys), ctx(std::move(ctx)) {}

  caf::actor_system& sys;
  aether::store_context ctx;
  aether::persistence_options opts;
  read_model view;
  std::shared_ptr<aether::cluster> members;
  std::shared_ptr<aether::kv_bucket> totals;

  /// Sends `msg` to the account wherever it lives.
  template <class... Ts>
  auto to_account(caf::scoped_actor& self, const std::string& name,
                  std::chrono::seconds timeout, Ts... xs) {
    return self->request(members->router(), timeout, aether::route_atom::value,
                         std::string{"account"}, name,
                         caf::make_message(xs...));
  }

  boost::json::object handle(const boost::json::object& cmd) {
    auto op = cmd.contains("op") ? cmd.at("op").as_string() : "";
    auto name = cmd.contains("account")
                  ? std::string{cmd.at("account").as_string()}
                  : std::string{};
    caf::scoped_actor self{sys};
    boost::json::object out;
    auto fail = [&](const caf::error& err) {
      out["ok"] = false;
      out["error"] = aether::describe(err);
      out["conflict"] = aether::is(err,
                                   aether::persistence_error::version_conflict);
    };
    if (op == "ping") {
      out["ok"] = true;
    } else if (op == "status") {
      boost::json::array members_seen;
      for (auto& m : members->members())
        members_seen.emplace_back(m);
      boost::json::array active;
      for (auto& a : members->active_entities())
        active.emplace_back(a);
      out["ok"] = true;
      // The shards this node should own among the members it sees: once
      // every hand-over is done, "owned" equals "target".
      auto seen = members->members();
      int64_t target = 0;
      for (uint32_t s = 0; s < members->shard_count(); ++s)
        target += aether::owner_of(s, seen) == members->node_id() ? 1 : 0;
      out["owned"] = members->owned_shards().size();
      out["target"] = target;
      out["shards"] = members->shard_count();
      out["members"] = members_seen;
      out["active"] = active;
    } else if (op == "deposit") {
      auto amount = cmd.at("amount").as_int64();
      to_account(self, name, 30s, deposit_atom::value, amount)
        .receive(
          [&](int64_t balance) {
            out["ok"] = true;
            out["balance"] = balance;
          },
          fail);
      if (out["ok"] == true)
        to_account(self, name, 30s, info_atom::value)
          .receive(
            [&](const std::vector<int64_t>& i) {
              out["version"] = i[0];
            },
            fail);
    } else if (op == "info") {
      to_account(self, name, 30s, info_atom::value)
        .receive(
          [&](const std::vector<int64_t>& i) {
            out["ok"] = true;
            out["version"] = i[0];
            out["snapshot"] = i[1];
            out["replayed"] = i[2];
            out["balance"] = i[3];
          },
          fail);
    } else if (op == "totals") {
      auto cur = totals->get(name);
      if (!cur) {
        fail(cur.error());
      } else {
        int64_t version = 0;
        int64_t balance = 0;
        if (*cur)
          std::istringstream{(*cur)->value} >> version >> balance;
        out["ok"] = true;
        out["version"] = version;
        out["balance"] = balance;
      }
    } else if (op == "view") {
      std::lock_guard<std::mutex> guard{view.m};
      auto& entry = view.accounts[name];
      out["ok"] = true;
      out["version"] = entry.first;
      out["balance"] = entry.second;
    } else {
      out["ok"] = false;
      out["error"] = "unknown op";
    }
    return out;
  }
};

// Commands in flight (each runs on a thread of its own, so one command
// waiting for a failover does not hold up the others).
std::atomic<int> in_flight{0};

/// Runs one control command (a request from the driver) on its own thread
/// and answers it.
void on_command(node* n, std::shared_ptr<aether::nats_connection> conn,
                aether::nats_message&& msg) {
  in_flight += 1;
  std::thread{[n, conn, msg = std::move(msg)] {
    boost::json::object reply;
    try {
      auto cmd = boost::json::parse(msg.data);
      reply = n->handle(cmd.as_object());
    } catch (const std::exception& e) {
      reply["ok"] = false;
      reply["error"] = std::string{"bad command: "} + e.what();
    }
    if (!msg.reply.empty())
      static_cast<void>(
        conn->publish(msg.reply, boost::json::serialize(reply)));
    in_flight -= 1;
  }}.detach();
}

template <class F>
auto retry(const char* what, F f) {
  auto deadline = std::chrono::steady_clock::now() + 60s;
  for (;;) {
    auto res = f();
    if (res || std::chrono::steady_clock::now() > deadline) {
      if (!res)
        std::cerr << what << ": " << aether::describe(res.error()) << "\n";
      return res;
    }
    std::this_thread::sleep_for(250ms);
  }
}

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: cluster_node <node-id> <nats-url>[,<nats-url>...] "
                 "[<http-port>]\n";
    return 2;
  }
  std::string id = argv[1];
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  aether::nats_options nopts;
  nopts.servers.clear();
  std::stringstream urls{argv[2]};
  for (std::string url; std::getline(urls, url, ',');)
    nopts.servers.push_back(url);
  nopts.name = "aether-node-" + id;
  nopts.reconnect_wait = 100ms;
  auto conn = retry("connect", [&] {
    return aether::nats_connection::connect(nopts);
  });
  if (!conn)
    return 1;
  aether::jetstream_store::options sopts;
  sopts.ns = ns;
  sopts.replicas = 3;
  auto opened = retry("open store", [&] {
    return aether::jetstream_store::open(*conn, sopts);
  });
  if (!opened)
    return 1;
  std::shared_ptr<aether::jetstream_store> store = std::move(*opened);
  aether::config cfg;
  cfg.set("logger.verbosity", caf::atom("quiet"));
  // Routed answers cross nodes: every node announces the same types.
  cfg.add_message_type<std::vector<int64_t>>("std::vector<int64_t>");
  caf::actor_system sys{cfg};
  auto bus = std::make_shared<aether::event_bus>(sys);
  aether::nats_bridge_options bopts;
  bopts.node_id = id;
  auto bridge = aether::nats_bridge::start(bus, *conn, bopts);
  if (!bridge || !(*bridge)->subscribe_to_event_stored(ns, store))
    return 1;
  node n{sys, aether::store_context::make(sys, store).with_bus(bus, ns)};
  n.opts.snapshots.every_events(5);
  n.opts.on_unknown_outcome = aether::failure_mode::restart;
  n.opts.persist_timeout = 8s;
  n.opts.log = [id](const std::string& line) {
    std::cout << "[" << id << "] " << line << std::endl;
  };
  auto follower = aether::event_follower::start(
    bus, ns, n.ctx, [&n](const std::string&, const aether::event& e) {
      std::lock_guard<std::mutex> guard{n.view.m};
      auto& entry = n.view.accounts[e.actor_id];
      auto amount = e.data.at("amount").as_int64();
      entry.first = e.version;
      entry.second += e.type == "deposited" ? amount : -amount;
    });
  if (!follower)
    return 1;
  // Accounts live on the node that owns their shard; any node routes.
  aether::cluster_options copts;
  copts.name = ns;
  copts.node_id = id;
  copts.shard_count = 64;
  // The leases, like the events, must outlive a NATS server: with one copy,
  // losing the server that holds a bucket stops every node.
  copts.replicas = 3;
  copts.lease_ttl = 4s;
  copts.renew_interval = 1s;
  copts.poll_interval = 200ms;
  aether::entity_types types;
  types["account"] = [&n](caf::actor_system& sys, const std::string& name) {
    return sys.spawn<demo_account>(name, n.ctx, n.opts);
  };
  // The totals projection: on whichever node owns its shard, its offsets in
  // a bucket every node reads.
  aether::kv_offset_store::options oopts;
  oopts.bucket = "bank_offsets";
  oopts.replicas = 3;
  auto offsets = retry("open the offsets", [&] {
    return aether::kv_offset_store::open(*conn, oopts);
  });
  auto totals = retry("open the totals", [&] {
    return aether::kv_bucket::open(*conn, {"bank_totals", 0ms, 3});
  });
  if (!offsets || !totals)
    return 1;
  n.totals = std::move(*totals);
  std::shared_ptr<aether::offset_store> kept = std::move(*offsets);
  aether::cluster_projections::add_to(
    types, {{"totals", [store, kept, t = n.totals] {
               aether::projection_options o;
               o.name = "totals";
               return aether::projection::at_least_once(
                 store, o, kept, [t](const aether::positioned_event& x) {
                   return add_to_totals(*t, x);
                 });
             }}});
  auto joined = retry("join the cluster", [&] {
    return aether::cluster::join(sys, *conn, copts, types);
  });
  if (!joined)
    return 1;
  n.members = *joined;
  auto keeper = aether::cluster_projections::keep_running(*n.members,
                                                          {"totals"}, 500ms);
  if (!keeper)
    return 1;
  auto control = aether::nats_subscription::subscribe(
    *conn, "demo.node." + id, "", [&n, c = *conn](aether::nats_message&& msg) {
      on_command(&n, c, std::move(msg));
    });
  if (!control || (*conn)->flush(10s))
    return 1;
  // With a port: /metrics, /healthz and /readyz on loopback.
  std::unique_ptr<aether::http_endpoints> http;
  if (argc > 3) {
    aether::http_options hopts;
    hopts.enabled = true;
    hopts.port = static_cast<uint16_t>(std::stoi(argv[3]));
    auto members = n.members;
    aether::http_endpoints::parts parts;
    parts.metrics = {[ctx = n.ctx] {
                       return ctx.prometheus();
                     },
                     [members] {
                       return members->prometheus();
                     }};
    parts.checks = {{"store", aether::store_reachable(n.ctx)},
                    {"recoveries", aether::recoveries_moving(n.ctx)},
                    {"shards", [members]() -> std::string {
                       return members->owned_shards().empty()
                                ? "this node owns no shard yet"
                                : "";
                     }}};
    auto started = aether::http_endpoints::start(hopts, std::move(parts));
    if (!started) {
      std::cerr << aether::describe(started.error()) << std::endl;
      return 1;
    }
    http = std::move(*started);
  }
  std::cout << "[" << id << "] ready" << std::endl;
  int sig = 0;
  sigwait(&stop_signals, &sig);
  http.reset();
  (*control)->close();
  for (int i = 0; i < 600 && in_flight > 0; ++i)
    std::this_thread::sleep_for(50ms); // commands still running
  std::cout << "[" << id << "] leaving the cluster" << std::endl;
  keeper->reset();
  if (auto err = n.members->leave())
    std::cout << "[" << id << "] leave: " << aether::describe(err) << std::endl;
  n.members.reset();
  follower->reset();
  bridge->reset();
  n.ctx = {};
  bus.reset();
  return 0;
}
