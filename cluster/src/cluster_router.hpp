#pragma once

#include "aether/cluster/routed_message.hpp"
#include "aether/runtime/activation_table.hpp"
#include "cluster_core.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace aether {

class persistent_actor_base;

using remote_atom = caf::atom_constant<caf::atom("ae_remote")>;
using reply_atom = caf::atom_constant<caf::atom("ae_reply")>;
using retry_atom = caf::atom_constant<caf::atom("ae_retry")>;
using expire_atom = caf::atom_constant<caf::atom("ae_expire")>;
using own_atom = caf::atom_constant<caf::atom("ae_own")>;
using release_atom = caf::atom_constant<caf::atom("ae_release")>;
using recall_atom = caf::atom_constant<caf::atom("ae_recall")>;
using passivation_tick_atom = caf::atom_constant<caf::atom("ae_ptick")>;
using passivation_kill_atom = caf::atom_constant<caf::atom("ae_pkill")>;

/// A node's router: takes routed requests (from users, `ref` actors and
/// other nodes), runs the entities of the shards this node owns, and sends
/// requests for other shards to their owners over NATS. It never blocks:
/// NATS publishes are buffered writes; subscriptions and leases are the
/// control thread's job.
class cluster_router : public caf::event_based_actor {
public:
  cluster_router(caf::actor_config& cfg, std::shared_ptr<cluster_core> core);

  caf::behavior make_behavior() override;

  void on_exit() override;

private:
  using clock = std::chrono::steady_clock;

  struct pending {
    caf::response_promise rp;
    std::string type;
    std::string id;
    uint32_t shard = 0;
    caf::message content;
    std::string frame;
    clock::time_point start;
    clock::time_point deadline;
    uint32_t attempts = 0;
    bool buffered = false;
    /// Between `retry_later` and the next send: nothing of it is in flight.
    /// Only such a request may be sent again: one in flight may still run.
    bool waiting = false;
    /// Counts sends and retries, so a late timer of an earlier one is
    /// ignored.
    uint64_t send_seq = 0;
  };

  struct entity {
    caf::actor handle;
    uint32_t shard = 0;
    std::string name;
    std::string type;
    std::string id;
    /// The entity as a persistent actor (null otherwise): its state size
    /// counts towards the memory budget.
    const persistent_actor_base* persistent = nullptr;
    /// Passivated by this router (idle, count limit, memory budget): what
    /// arrives for it meanwhile waits in `held`, in order, and runs once it
    /// stopped (starting it again).
    bool passivating = false;
    std::vector<std::function<void()>> held;
  };

  /// Checks type and id; the error names the rule.
  caf::error check(const std::string& type, const std::string& id) const;
  void dispatch(uint64_t req);
  void send_remote(uint64_t req, pending& p);
  void retry_later(uint64_t req, pending& p);
  void finish(uint64_t req, caf::message answer);
  bool ready(uint32_t shard) const;
  /// The running entity, started if needed (and then remembered, unless
  /// `recalled`: it is remembered already); an error if its factory failed.
  caf::expected<caf::actor> entity_for(const std::string& type,
                                       const std::string& id, uint32_t shard,
                                       bool recalled = false);
  /// Starts the remembered entities of a shard this node just claimed.
  void recall(uint32_t shard, const std::vector<std::string>& types,
              const std::vector<std::string>& ids);
  /// Sends `content` to the entity and calls `done` with its answer; a
  /// receiver that stopped before the message ran gives `retry`.
  void ask_entity(const std::string& name, const caf::actor& e,
                  caf::message content, std::function<void(caf::message&)> done,
                  std::function<void()> retry);
  /// Holds `later` if entity `name` is passivating (true), to run once it
  /// stopped.
  bool hold_if_passivating(const std::string& name,
                           std::function<void()> later);
  /// Passivates the entities `passivation_options` says are idle or too
  /// many.
  void enforce_limits();
  void tick_later();
  void serve_remote(const std::string& reply, const std::string& frame);
  void answer_remote(const std::string& reply, caf::message answer);
  void answer_remote_status(const std::string& reply, reply_status status,
                            caf::error err);
  void release(const handoff_ptr& job);
  void entity_down(const caf::actor_addr& who, const caf::error& reason);

  std::shared_ptr<cluster_core> core_;
  std::unordered_map<uint64_t, pending> pending_;
  uint64_t next_req_ = 0;
  size_t buffered_ = 0;
  /// Shards owned and serving.
  std::unordered_set<uint32_t> ready_;
  std::unordered_map<std::string, entity> entities_;
  /// The local entities in least-recently-used order.
  activation_table table_;
  bool ticking_ = false;
  std::unordered_map<caf::actor_addr, std::string> names_;
  /// Hand-overs waiting for entities to stop.
  std::vector<std::pair<handoff_ptr, std::unordered_set<caf::actor_addr>>>
    handoffs_;
};

} // namespace aether
