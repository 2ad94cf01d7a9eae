#pragma once

// Remembered entities ("remember entities"): which entities run, per shard,
// so that a shard's next owner starts them at once instead of at their
// next message.

#include "aether/nats/kv_bucket.hpp"

#include <caf/expected.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace aether {

/// One remembered entity: type and id.
using entity_name = std::pair<std::string, std::string>;

/// The remembered entities of a cluster, one key per shard (`shard.<n>`) in
/// the bucket `aether_entities_<cluster>`, whose value is the JSON array of
/// the shard's entities (`[["type","id"], ...]`). Changes are queued without
/// blocking (the router is an actor) and written by a thread of its own,
/// coalesced per shard, as a compare-and-swap of the shard's value (a write
/// that lost to another re-reads and applies its changes again). Reads are
/// for the control thread.
class entity_registry {
public:
  static caf::expected<std::unique_ptr<entity_registry>>
  open(std::shared_ptr<nats_connection> conn, const std::string& cluster,
       int replicas);

  /// Stops the writer; changes not yet written are dropped.
  ~entity_registry();

  /// Stops the writer (as the destructor; a node that crashes or left).
  /// Changes queued afterwards are never written.
  void stop();

  entity_registry(const entity_registry&) = delete;
  entity_registry& operator=(const entity_registry&) = delete;

  /// Queues: `name` runs on `shard` / stopped for good. Never blocks on NATS.
  void remember(uint32_t shard, entity_name name);
  void forget(uint32_t shard, entity_name name);

  /// Waits until every change queued before the call is written (or failed
  /// after its retries), at most until `deadline`; false when it timed out.
  bool flush(std::chrono::steady_clock::time_point deadline);

  /// The entities remembered for `shard` (blocks for a round trip).
  caf::expected<std::vector<entity_name>> recall(uint32_t shard);

  /// Writes that failed after their retries (their changes are lost).
  uint64_t failed_writes() const;

  /// The JSON value of a shard's entry, and back (an error names what is
  /// wrong).
  static std::string encode(const std::set<entity_name>& names);
  static caf::expected<std::set<entity_name>> decode(const std::string& json);

private:
  struct delta {
    std::set<entity_name> add;
    std::set<entity_name> remove;
  };

  entity_registry() = default;
  void queue(uint32_t shard, entity_name name, bool running);
  void run();
  /// Applies `d` to the shard's entry; false when NATS failed.
  bool write(uint32_t shard, const delta& d);

  std::unique_ptr<kv_bucket> bucket_;
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::map<uint32_t, delta> queued_;
  /// Changes queued so far / written (or given up) so far: `flush` waits
  /// for the second to reach the first.
  uint64_t queued_count_ = 0;
  uint64_t done_count_ = 0;
  uint64_t failed_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

} // namespace aether
