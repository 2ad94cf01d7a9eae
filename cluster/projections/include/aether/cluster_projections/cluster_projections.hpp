#pragma once

#include "aether/cluster/cluster.hpp"
#include "aether/projections/projection.hpp"

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace aether {

/// `(projection_ping_atom)` to a projection's entity: starts it if needed
/// and answers with the events its workers handled since it started here
/// (`uint64_t`).
using projection_ping_atom = caf::atom_constant<caf::atom("ae_pping")>;

/// Starts one projection on the node that runs it (an at-least-once
/// projection with its offsets in a `kv_offset_store`, so that the next
/// node resumes where this one stopped).
using projection_starter
  = std::function<caf::expected<std::unique_ptr<projection>>()>;

/// Projections that run on one node of a cluster at a time, and move when
/// that node leaves or dies.
///
/// Each projection is an entity of the cluster (type `entity_type`, id the
/// projection's name), so the shard leases place it: it runs on the node
/// that owns its shard. Nothing else starts an entity, so every node that
/// calls `keep_running` asks each projection every `interval` (Akka's
/// sharded daemon process does the same); after a failover the first ask
/// starts it on the shard's new owner, which reads on from the stored
/// offsets. When the node leaves, the projection stops (after its handler
/// call in progress) before the shard moves; when the node dies, the shard
/// moves after the lease TTL. Either way the next node starts from the last
/// stored offset: no event is skipped; events handled after that offset
/// are handled again (at-least-once).
class cluster_projections {
public:
  /// The entity type of projections.
  static constexpr const char* entity_type = "aether.projection";

  /// Adds `entity_type` to `types` (before `cluster::join`): its entities
  /// are the projections of `starters`, by name. The projection is started
  /// and stopped on the entity's own thread (a detached actor), never on
  /// CAF's scheduler. A starter that fails or throws answers the ask with
  /// the error; the next ask tries again.
  static void add_to(entity_types& types,
                     std::map<std::string, projection_starter> starters);

  /// Asks each of `names` through `node` every `interval` (at once first),
  /// so each runs somewhere; an ask that gets no answer within
  /// max(`interval`, 5 s) counts as failed. Fails with `invalid_argument`
  /// for an interval of 0 or less. Stop it (destructor) before the node
  /// leaves and before its actor system is destroyed.
  static caf::expected<std::unique_ptr<cluster_projections>>
  keep_running(cluster& node, std::vector<std::string> names,
               std::chrono::milliseconds interval = std::chrono::seconds{1});

  /// Stops asking (waits for an ask in flight, at most its timeout); the
  /// projections go on where they run.
  ~cluster_projections();

  cluster_projections(const cluster_projections&) = delete;
  cluster_projections& operator=(const cluster_projections&) = delete;

  /// The last answer per projection: none when it answered (it runs),
  /// otherwise the error (not yet asked: `unavailable`).
  std::map<std::string, caf::error> health() const;

private:
  cluster_projections(caf::actor router, std::vector<std::string> names,
                      std::chrono::milliseconds interval);

  void loop();

  caf::actor router_;
  std::vector<std::string> names_;
  std::chrono::milliseconds interval_;
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::map<std::string, caf::error> health_;
  std::thread thread_;
};

} // namespace aether
