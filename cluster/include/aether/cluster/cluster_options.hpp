#pragma once

#include "aether/runtime/passivation_options.hpp"

#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace aether {

/// Settings of one cluster node. Every node of a cluster uses the same
/// `name` and `shard_count` (checked at join); the timings may differ.
struct cluster_options {
  /// The cluster's namespace: names its key-value buckets
  /// (`aether_members_<name>`, `aether_shards_<name>`, with
  /// `remember_entities` `aether_entities_<name>`) and its subjects
  /// (`aether.cluster.<name>.shard.<n>`). Letters, digits, `-` and `_`.
  std::string name = "default";
  /// This node's id (letters, digits, `-`, `_`); a UUID when empty.
  std::string node_id;
  /// Number of shards; fixed for the life of the cluster.
  uint32_t shard_count = 1024;
  /// A node whose heartbeat is older than this is dead: its shards go to
  /// the others.
  std::chrono::milliseconds lease_ttl{10000};
  /// How often a node renews its heartbeat (and so all its leases).
  std::chrono::milliseconds renew_interval{3000};
  /// How often a node reads the members and claims or hands over shards.
  std::chrono::milliseconds poll_interval{500};
  /// Requests waiting for a shard that has no ready owner, at most (more are
  /// refused with `unavailable`).
  size_t buffer_size = 10000;
  /// How long a request may wait for a shard's owner before it fails with
  /// `unavailable` naming the shard.
  std::chrono::milliseconds unavailable_timeout{15000};
  /// How long an entity may take to answer a routed request; after it the
  /// request fails with `unknown_outcome` (it may have run).
  std::chrono::milliseconds request_timeout{10000};
  /// How long a hand-over waits for the shard's actors to passivate.
  std::chrono::milliseconds handoff_timeout{10000};
  /// Copies of the cluster's key-value buckets on a JetStream cluster.
  int replicas = 1;

  /// Remember entities: the entities running on a shard are kept in the
  /// bucket `aether_entities_<name>`, and a shard's next owner (after a
  /// failover, a hand-over or a restart of the cluster) starts them at once
  /// instead of at their next message. An entity that stops on its own
  /// (normal exit, e.g. it passivated itself) is forgotten; one that
  /// failed, or was passivated for a hand-over, is not. Every node of a
  /// cluster should use the same setting.
  bool remember_entities = false;

  /// When this node passivates its entities: idle for `idle_timeout`
  /// (120 s), beyond `max_active` (100,000) or `memory_budget`, least
  /// recently used first, each with a snapshot first (`snapshot`). Requests
  /// for an entity that is passivating wait on this node and go to its next
  /// activation in order. Read from `aether.passivation.*`.
  passivation_options passivation;

  /// Reads `aether.cluster.*` (`name`, `node-id`, `shard-count`,
  /// `lease-ttl`, `renew-interval`, `poll-interval`, `buffer-size`,
  /// `unavailable-timeout`, `request-timeout`, `handoff-timeout`,
  /// `replicas`, `remember-entities`) and `aether.passivation.*`; declare
  /// them with `add_cluster_options` (and `add_passivation_options`, as
  /// `aether::config` does).
  /// Fails with `invalid_option` naming the option and the rule.
  static caf::expected<cluster_options>
  from_config(const caf::actor_system_config& cfg);

  /// Checks the settings; the error names the option and the rule.
  caf::error validate() const;
};

/// Declares the `aether.cluster.*` options in a CAF config option set.
void add_cluster_options(caf::config_option_set& options);

} // namespace aether
