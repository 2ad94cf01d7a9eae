#pragma once

#include "aether/cluster/cluster.hpp"
#include "aether/nats/nats_options.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace aether {

/// Several cluster nodes in one process, each with an actor system and a
/// NATS connection of its own: a multi-node cluster for tests, without
/// starting processes. Only the NATS server is shared (bring your own).
class local_cluster {
public:
  struct setup {
    /// Builds a node's actor system config (announce message types here:
    /// every node needs the same). Default: `aether::config`.
    std::function<std::unique_ptr<caf::actor_system_config>()> make_config;
    /// The entity types of a node, for its actor system.
    std::function<entity_types(caf::actor_system&)> make_types;
    nats_options nats;
    /// Used by every node; node `i` gets the id `<node_prefix><i>`.
    cluster_options options;
    std::string node_prefix = "node-";
  };

  explicit local_cluster(setup s);

  /// Leaves with every running node.
  ~local_cluster();

  local_cluster(const local_cluster&) = delete;
  local_cluster& operator=(const local_cluster&) = delete;

  /// Starts one more node; returns its index.
  caf::expected<size_t> add_node();

  /// Starts node `i` again after a leave or crash (same id, new
  /// incarnation, fresh actor system).
  caf::error restart(size_t i);

  /// Graceful leave of node `i`.
  caf::error leave(size_t i);

  /// Node `i` stops as if its process died (see `cluster::crash`).
  void crash(size_t i);

  bool running(size_t i) const;
  size_t size() const;
  cluster& node(size_t i);
  caf::actor_system& system(size_t i);

  /// Every shard is owned by exactly one running node, the one its members
  /// view says, and every running node sees exactly the running nodes.
  bool balanced() const;

  /// Waits (polling) until `balanced()`, at most `limit`.
  bool wait_balanced(std::chrono::milliseconds limit);

private:
  struct member {
    std::unique_ptr<caf::actor_system_config> cfg;
    std::unique_ptr<caf::actor_system> sys;
    std::shared_ptr<cluster> node;
    bool running = false;
  };

  caf::error start(member& m, size_t i);
  void stop(member& m);

  setup setup_;
  std::vector<std::unique_ptr<member>> members_;
};

} // namespace aether
