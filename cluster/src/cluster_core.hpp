#pragma once

// State shared by a cluster node's control thread and its router actor.

#include "aether/cluster/cluster.hpp"
#include "entity_registry.hpp"

#include <atomic>
#include <caf/allowed_unsafe_message_type.hpp>
#include <chrono>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace aether {

struct cluster_core {
  using clock = std::chrono::steady_clock;

  caf::actor_system* sys = nullptr;
  std::shared_ptr<nats_connection> conn;
  cluster_options opts;
  entity_types types;
  cluster_metrics metrics;
  /// The remembered entities (`remember_entities`), else null. Set before
  /// the router starts; stopped, never reset, when the node stops.
  std::shared_ptr<entity_registry> remembered;
  /// `aether.cluster.<name>.shard.`: a shard's subject is this + number.
  std::string shard_prefix;
  /// The queue group of shard subscriptions.
  std::string queue;
  /// This node's reply subjects: this + request number.
  std::string reply_prefix;
  /// Until when this node may serve its shards (steady clock, ns): its last
  /// heartbeat's send time plus most of the lease TTL. Past it the node
  /// answers "not owner": another node may hold its shards already.
  std::atomic<int64_t> serving_until{0};

  bool serving() const {
    return clock::now().time_since_epoch().count() < serving_until.load();
  }

  std::string shard_subject(uint32_t shard) const {
    return shard_prefix + std::to_string(shard);
  }

  mutable std::mutex mtx;
  /// Guarded by mtx: read by the accessors of `cluster`.
  std::set<std::string> active;
  std::vector<std::string> members;
  std::vector<uint32_t> owned;
};

/// Hands shards back: the router stops taking their requests, passivates
/// (or, with `kill`, kills) their entities and fulfills `done` when all of
/// them stopped.
struct handoff_job {
  std::vector<uint32_t> shards;
  bool kill = false;
  std::promise<void> done;
};

using handoff_ptr = std::shared_ptr<handoff_job>;

} // namespace aether

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aether::handoff_ptr)
