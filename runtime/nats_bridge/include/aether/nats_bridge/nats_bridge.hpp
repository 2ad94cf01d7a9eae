#pragma once

#include "aether/nats/nats_connection.hpp"
#include "aether/persistence/event_store.hpp"
#include "aether/runtime/event_bus.hpp"

#include <atomic>
#include <caf/expected.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace aether {

struct nats_bridge_options {
  /// This node's id, unique in the cluster; empty: a fresh UUID.
  std::string node_id;
  /// Subjects are `<prefix>.<namespace>`.
  std::string subject_prefix = "aether.events";
  /// nats.c's per-subscription pending limit (messages) before it drops as a
  /// slow consumer (counted in `stats::nats_dropped`).
  int pending_limit = 65536;
  /// Send `EventStored` notifications to other nodes (true: what the Go
  /// aether does). With false they stay on this node's bus, and other nodes
  /// (a Go aether subscriber among them) receive each stored event once, as
  /// the event itself, instead of the event and then an `EventStored` with
  /// the same actor id and version; `subscribe_to_event_stored` on the other
  /// nodes then raises the version cache from those events.
  bool forward_event_stored = true;
  /// Events waiting for the bridge's publisher thread (besides the batch it
  /// writes; at least 1); beyond, an event is not sent and counted
  /// (`stats::queue_dropped`).
  size_t max_queued = 65536;
};

/// Carries bus traffic between nodes over core NATS.
///
/// Every event published on the local bus goes out on
/// `aether.events.<namespace>` as the envelope
/// `{"node_id", "namespace_id", "event"}` of the Go aether. For every
/// distinct pattern that local subscribers use, the bridge holds one NATS
/// subscription (`aether.events.<pattern>`), shared and reference counted:
/// it subscribes with the first local subscriber and unsubscribes with the
/// last. Received envelopes from other nodes go to the local subscribers of
/// that pattern; this node's own messages, malformed envelopes and envelopes
/// whose namespace is not their subject's are dropped and counted.
///
/// Sending never blocks the publisher: the envelope is encoded on the
/// publishing thread and queued; a thread of the bridge writes the queue to
/// NATS in batches and flushes after each batch.
/// Give the bridge a connection with `nats_options::send_asap` false: one
/// socket write then carries a whole batch under load, and an event alone
/// still goes out at once (with `send_asap` true, every event is a write of
/// its own and no flush is needed).
///
/// Core NATS is at most once: what is published while a node is cut off is
/// lost for it (nats.c resubscribes after a reconnect). `event_follower`
/// notices the missing versions and reads them from the store.
class nats_bridge : public bus_listener {
public:
  struct stats {
    std::atomic<uint64_t> sent{0};
    std::atomic<uint64_t> send_errors{0};
    std::atomic<uint64_t> received{0};
    std::atomic<uint64_t> own_ignored{0};
    std::atomic<uint64_t> malformed{0};
    std::atomic<uint64_t> wrong_namespace{0};
    std::atomic<uint64_t> cache_updates{0};
    std::atomic<uint64_t> subscribe_errors{0};
    /// `EventStored` notifications not sent (`forward_event_stored` false).
    std::atomic<uint64_t> kept_local{0};
    /// Events not sent because `max_queued` waited already.
    std::atomic<uint64_t> queue_dropped{0};
  };

  /// Attaches a bridge to `bus` over `conn`.
  static caf::expected<std::unique_ptr<nats_bridge>>
  start(std::shared_ptr<event_bus> bus, std::shared_ptr<nats_connection> conn,
        nats_bridge_options opts = {});

  /// Detaches from the bus and ends the NATS subscriptions.
  ~nats_bridge() override;

  const std::string& node_id() const;

  /// Raises `store`'s version cache whenever another node reports an
  /// `EventStored` in a namespace matching `pattern` (with
  /// `forward_event_stored` false: whenever an event of another node
  /// arrives), so that a stale writer here fails fast with
  /// `version_conflict`. Returns the bus subscription.
  caf::expected<event_bus::subscription_id>
  subscribe_to_event_stored(const std::string& pattern,
                            std::shared_ptr<event_store> store);

  const stats& statistics() const;

  /// NATS subscriptions currently held (one per distinct local pattern).
  size_t nats_subscriptions() const;

  /// Subscriptions of removed patterns still draining (freed by the next
  /// pattern change once drained, or by the destructor).
  size_t nats_subscriptions_draining() const;

  /// Messages nats.c dropped because a subscription fell behind.
  uint64_t nats_dropped() const;

  /// Times the connection reconnected.
  uint64_t reconnects() const;

  /// Prometheus text exposition of the bridge counters (`aether_bridge_`).
  std::string to_prometheus() const;

  // -- bus_listener -----------------------------------------------------------

  void pattern_added(const std::string& pattern) override;
  void pattern_removed(const std::string& pattern) override;
  void published(const std::string& ns,
                 const std::shared_ptr<const event>& ev) override;

  /// The state shared with nats.c's callbacks (internal).
  struct core;

private:
  nats_bridge() = default;

  std::shared_ptr<core> core_;
};

/// Encodes the cross-node envelope.
std::string encode_envelope(const std::string& node_id, const std::string& ns,
                            const event& ev);

/// A decoded envelope.
struct envelope {
  std::string node_id;
  std::string ns;
  event ev;
};

/// Decodes and checks an envelope (JSON object with a non-empty `node_id`, a
/// valid `namespace_id` and a valid `event`); `invalid_argument` names the
/// field otherwise.
caf::expected<envelope> decode_envelope(std::string_view text);

} // namespace aether
