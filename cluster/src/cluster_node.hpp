#pragma once

#include "aether/nats/kv_bucket.hpp"
#include "aether/nats/nats_subscription.hpp"
#include "cluster_core.hpp"

#include <atomic>
#include <caf/actor.hpp>
#include <caf/exit_reason.hpp>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace aether {

/// The control side of a cluster node: a thread of its own that heartbeats,
/// reads the members, claims and hands over shards (all blocking NATS
/// calls), and tells the router which shards it serves.
class cluster_node {
public:
  using clock = std::chrono::steady_clock;

  static caf::expected<std::unique_ptr<cluster_node>>
  start(caf::actor_system& sys, std::shared_ptr<nats_connection> conn,
        cluster_options opts, entity_types types);

  ~cluster_node();

  caf::error leave();
  void crash();

  std::shared_ptr<cluster_core> core;
  caf::actor router;

private:
  cluster_node() = default;

  struct owned_shard {
    uint64_t revision = 0;
    uint64_t epoch = 0;
    std::unique_ptr<nats_subscription> sub;
  };

  caf::error open();
  caf::error check_shard_count();
  caf::error register_member();
  void loop();
  void heartbeat_loop();
  void heartbeat();
  void rebalance();
  /// Live members: node id -> incarnation.
  caf::expected<std::map<std::string, std::string>> read_members();
  /// Claims `shard` if it is free or its holder dead; false when NATS did
  /// not answer (the caller stops for this poll).
  bool claim(uint32_t shard, const std::map<std::string, std::string>& live);
  /// Tells the router to start the remembered entities of a shard just
  /// claimed (`remember_entities`).
  void recall(uint32_t shard);
  /// Stops serving `shards`: unsubscribes, passivates (or kills) their
  /// entities, then releases the leases (when `release`).
  void hand_over(const std::vector<uint32_t>& shards, bool kill, bool release);
  /// Closes the lingering subscriptions whose shard another node claimed
  /// (or that waited longer than the hand-over timeout); all with `all`.
  void close_lingering(bool all);
  /// Checks the leases of a few owned shards (in turn) and drops those that
  /// no longer name this node.
  void verify_leases();
  /// This node lost its membership: drop every shard without releasing.
  void lose_all();
  void publish_owned();
  /// Stops the control thread (the heartbeat goes on).
  void stop_thread();
  void stop_heartbeat();
  /// Stops the router (which stops the entities) and waits until it exited.
  void stop_router(caf::exit_reason reason);
  void log(const std::string& line) const;

  std::unique_ptr<kv_bucket> members_;
  std::unique_ptr<kv_bucket> shards_;
  std::unique_ptr<nats_subscription> replies_;
  std::map<uint32_t, owned_shard> owned_;
  /// Subscriptions of shards handed over, kept until the next owner
  /// claimed them (the router answers "not owner" meanwhile).
  struct lingering {
    std::unique_ptr<nats_subscription> sub;
    clock::time_point since;
  };
  std::map<uint32_t, lingering> lingering_;
  uint32_t verify_next_ = 0;
  /// Shards taken over from gone nodes in this poll, by node.
  std::map<std::string, size_t> failovers_this_poll_;
  /// Guards incarnation_, member_rev_ and last_ok_ (heartbeat thread and
  /// control thread).
  std::mutex hb_mtx_;
  std::string incarnation_;
  uint64_t member_rev_ = 0;
  clock::time_point last_ok_;
  std::atomic<bool> registered_{false};
  /// Set by the heartbeat when the entry expired: the control thread drops
  /// every shard and joins again.
  std::atomic<bool> lost_{false};

  std::thread thread_;
  std::thread heartbeat_thread_;
  std::mutex mtx_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool stop_heartbeat_ = false;
  bool done_ = false;
};

} // namespace aether
