#pragma once

#include "aether/cluster/cluster.hpp"
#include "aether/cluster/local_cluster.hpp"
#include "aether/runtime/config.hpp"
#include "aether/runtime/store_context.hpp"
#include "aether/testkit/nats_server.hpp"

#include <caf/scoped_actor.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace aether::testkit {

/// How a `cluster_testkit` builds its nodes.
struct cluster_testkit_options {
  /// Nodes started at once (more with `nodes().add_node()`).
  size_t nodes = 3;
  /// The cluster's name and the JetStream store's namespace.
  std::string name = "test";
  /// Adds to each node's actor system config (announce message types).
  std::function<void(aether::config&)> configure;
  /// The entity types of one node, given its actor system and its store
  /// context (a JetStream store on the kit's server, a connection per
  /// node).
  std::function<entity_types(caf::actor_system&, const store_context&)>
    make_types;
  /// The cluster's options; `name` is set from above. The defaults here are
  /// short for tests: 64 shards, a 2 s lease, 100 ms polls.
  cluster_options cluster = test_defaults();

  static cluster_options test_defaults();
};

/// Several cluster nodes in one process against one real nats-server that
/// the kit starts (free port, temp dir) and stops: routing, failover and
/// hand-over tests of a user's entities without starting processes.
///
/// ```
/// aether::testkit::cluster_testkit_options o;
/// o.make_types = [](caf::actor_system&, const aether::store_context& ctx) {
///   aether::entity_types types;
///   types["account"] = [ctx](caf::actor_system& sys, const std::string& id) {
///     return sys.spawn<account_actor>(id, ctx, aether::persistence_options{});
///   };
///   return types;
/// };
/// aether::testkit::cluster_testkit kit{o};
/// auto balance = kit.ask<int64_t>(0, "account", "acc-1", deposit_atom::value,
///                                 int64_t{5});
/// kit.nodes().crash(1); // its accounts fail over
/// ```
///
/// The constructor throws `check_failed` when the nodes do not start or do
/// not own every shard within 30 s. Everything runs in real time.
class cluster_testkit {
public:
  explicit cluster_testkit(cluster_testkit_options opts);
  ~cluster_testkit();

  cluster_testkit(const cluster_testkit&) = delete;
  cluster_testkit& operator=(const cluster_testkit&) = delete;

  nats_server& server() {
    return *server_;
  }

  /// The nodes: `crash(i)`, `leave(i)`, `restart(i)`, `add_node()`,
  /// `wait_balanced(limit)`, `node(i)`, `system(i)`.
  local_cluster& nodes() {
    return *nodes_;
  }

  /// Sends `xs...` to the entity `type`/`id` through node `i`'s router and
  /// waits (at most `timeout`) for its answer of type `R`, or the error.
  template <class R, class... Ts>
  caf::expected<R>
  ask(size_t i, const std::string& type, const std::string& id, Ts&&... xs) {
    return ask_for<R>(std::chrono::seconds{30}, i, type, id,
                      std::forward<Ts>(xs)...);
  }

  template <class R, class Rep, class Period, class... Ts>
  caf::expected<R> ask_for(std::chrono::duration<Rep, Period> timeout, size_t i,
                           const std::string& type, const std::string& id,
                           Ts&&... xs) {
    caf::scoped_actor self{nodes_->system(i)};
    caf::expected<R> result = caf::error{};
    self
      ->request(nodes_->node(i).router(), timeout, route_atom::value, type, id,
                caf::make_message(std::forward<Ts>(xs)...))
      .receive(
        [&](R& x) {
          result = std::move(x);
        },
        [&](caf::error& err) {
          result = std::move(err);
        });
    return result;
  }

private:
  std::unique_ptr<nats_server> server_;
  std::unique_ptr<local_cluster> nodes_;
};

} // namespace aether::testkit
