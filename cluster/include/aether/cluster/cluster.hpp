#pragma once

#include "aether/cluster/cluster_metrics.hpp"
#include "aether/cluster/cluster_options.hpp"
#include "aether/nats/nats_connection.hpp"

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace aether {

/// `(route_atom, type, id, caf::message)` to `cluster::router()`: delivers
/// the message to the entity wherever it lives and answers with its answer.
using route_atom = caf::atom_constant<caf::atom("ae_route")>;

/// Starts the entity `id` of one type on the node that owns its shard (on
/// its first message). Usually spawns a `persistent_actor`.
using entity_factory
  = std::function<caf::actor(caf::actor_system& sys, const std::string& id)>;

/// Entity types by name; the same on every node.
using entity_types = std::map<std::string, entity_factory>;

class cluster_node;

/// One node of a cluster whose entities each live on exactly one node.
///
/// - Placement: an entity belongs to shard `shard_of(type, id)`; a shard
///   belongs to the node that holds its lease in the `aether_shards_<name>`
///   bucket. Each node heartbeats in `aether_members_<name>` (values expire
///   after `lease_ttl`); a lease is valid while its node's heartbeat is. All
///   nodes compute the same target owner per shard from the live members
///   (rendezvous hashing): a node claims the shards it should own when they
///   are free or their owner is dead, and hands over the ones it should not.
/// - Routing: `router()` and `ref()` take requests on any node; they reach
///   the owner directly (same node) or by a NATS request on the shard's
///   subject, which only the owner subscribes to. Requests for a shard
///   without an owner wait (bounded) until one is ready.
/// - Failover: a dead node's shards are claimed after its heartbeat expired;
///   its entities recover on their next message from their snapshot and
///   events. `leave()` passivates (snapshot + stop) the local entities first.
///
/// Every blocking call here (join, leave, destructor) must run outside CAF's
/// scheduler threads.
class cluster {
public:
  /// Joins the cluster `opts.name` as node `opts.node_id`. Fails with
  /// `invalid_option` (bad options, or a shard count other than the
  /// cluster's), or with the NATS error.
  static caf::expected<std::shared_ptr<cluster>>
  join(caf::actor_system& sys, std::shared_ptr<nats_connection> conn,
       cluster_options opts, entity_types types);

  /// Leaves gracefully if `leave` was not called.
  ~cluster();

  cluster(const cluster&) = delete;
  cluster& operator=(const cluster&) = delete;

  /// Takes `(route_atom, type, id, caf::message)` requests.
  caf::actor router() const;

  /// An actor that forwards every request to the entity `type`/`id`
  /// wherever it lives and answers with the entity's answer. Cheap to keep;
  /// stops when the cluster node stops.
  caf::actor ref(const std::string& type, const std::string& id) const;

  /// Graceful leave: stops taking requests for its shards, passivates the
  /// local entities (each saves a snapshot), releases the leases and removes
  /// the node from the members. Requests routed meanwhile wait for the next
  /// owner.
  caf::error leave();

  /// For tests of failover: stops this node at once as if its process died
  /// (entities killed, no snapshot, no lease released, no heartbeat).
  void crash();

  const std::string& node_id() const;
  uint32_t shard_count() const;
  uint32_t shard_of(const std::string& type, const std::string& id) const;

  /// Shards this node owns now.
  std::vector<uint32_t> owned_shards() const;

  /// The live members this node saw at its last poll (sorted).
  std::vector<std::string> members() const;

  /// Changes this node's passivation limits at run time (see
  /// `cluster_options::passivation`); a lower limit passivates at once what
  /// is over it. Invalid options are refused with the error.
  caf::error set_passivation(const passivation_options& opts);

  /// Entities running on this node now, as "type/id".
  std::vector<std::string> active_entities() const;

  const cluster_metrics& metrics() const;

  /// `metrics()` as Prometheus text.
  std::string prometheus() const;

private:
  explicit cluster(std::unique_ptr<cluster_node> node);

  std::unique_ptr<cluster_node> node_;
};

} // namespace aether
