#pragma once

#include "aether/nats/kv_bucket.hpp"
#include "aether/nats/nats_subscription.hpp"
#include "cluster_core.hpp"

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
  void heartbeat();
  void rebalance();
  /// Live members: node id -> incarnation.
  caf::expected<std::map<std::string, std::string>> read_members();
  void claim(uint32_t shard, const std::map<std::string, std::string>& live);
  /// Stops serving `shards`: unsubscribes, passivates (or kills) their
  /// entities, then releases the leases (when `release`).
  void hand_over(const std::vector<uint32_t>& shards, bool kill, bool release);
  /// This node lost its membership: drop every shard without releasing.
  void lose_all();
  void publish_owned();
  void stop_thread();
  /// Stops the router (which stops the entities) and waits until it exited.
  void stop_router(caf::exit_reason reason);
  void log(const std::string& line) const;

  std::unique_ptr<kv_bucket> members_;
  std::unique_ptr<kv_bucket> shards_;
  std::unique_ptr<nats_subscription> replies_;
  std::map<uint32_t, owned_shard> owned_;
  std::string incarnation_;
  uint64_t member_rev_ = 0;
  clock::time_point last_ok_;
  clock::time_point next_heartbeat_;
  bool registered_ = false;

  std::thread thread_;
  std::mutex mtx_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool done_ = false;
};

} // namespace aether
