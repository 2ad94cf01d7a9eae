#pragma once

#include "aether/runtime/activation_metrics.hpp"
#include "aether/runtime/runtime_metrics.hpp"

#include <atomic>
#include <cstdint>
#include <string>

namespace aether {

/// Counters of one cluster node, safe to update from any thread.
struct cluster_metrics {
  /// Shards this node owns now (a gauge).
  std::atomic<int64_t> shards_owned{0};
  /// Entities running on this node now (a gauge).
  std::atomic<int64_t> entities_active{0};
  /// Shards claimed (free, released, or of a dead node).
  std::atomic<uint64_t> claims{0};
  /// Claims of a shard whose owner was dead (failovers).
  std::atomic<uint64_t> failovers{0};
  /// Shards handed over (released to another node).
  std::atomic<uint64_t> releases{0};
  /// Shards dropped because this node lost its membership (it was paused
  /// or cut off past the lease TTL).
  std::atomic<uint64_t> leases_lost{0};
  /// Heartbeats that failed (the server did not answer in time).
  std::atomic<uint64_t> renew_failures{0};
  /// Requests answered by an entity on this node / sent to another node.
  std::atomic<uint64_t> routed_local{0};
  std::atomic<uint64_t> routed_remote{0};
  /// Requests from other nodes served here.
  std::atomic<uint64_t> served_remote{0};
  /// Requests waiting for a shard's owner now (a gauge), and retries.
  std::atomic<int64_t> buffered{0};
  std::atomic<uint64_t> retries{0};
  /// Requests refused: the buffer was full, or no owner within
  /// `unavailable_timeout`.
  std::atomic<uint64_t> refused{0};
  /// Requests that got no answer within `request_timeout`.
  std::atomic<uint64_t> timeouts{0};
  /// Requests refused as invalid (unknown type, bad id, unannounced or
  /// malformed message).
  std::atomic<uint64_t> invalid{0};
  /// Entities started when this node claimed their shard, because they were
  /// remembered (`remember_entities`).
  std::atomic<uint64_t> remembered_started{0};
  /// Activations and passivations of this node's entities
  /// (`aether_actors_active`, `aether_passivations_total{cause}`, ...).
  activation_metrics activations;
  /// Round-trip times of routed requests, by destination.
  latency_histogram local_latency;
  latency_histogram remote_latency;

  /// Prometheus text exposition (`aether_cluster_*`).
  std::string to_prometheus() const;
};

} // namespace aether
