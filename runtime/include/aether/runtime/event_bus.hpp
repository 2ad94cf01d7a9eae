#pragma once

#include "aether/persistence/event.hpp"
#include "aether/runtime/subject_pattern.hpp"

#include <atomic>
#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace aether {

/// Tags a bus delivery in a subscriber actor's mailbox:
/// `(bus_atom, bus_event)`.
using bus_atom = caf::atom_constant<caf::atom("aether_bus")>;

/// One event delivered by the bus to one subscriber. Cheap to copy. While
/// any copy lives, the delivery occupies one slot of the subscriber's buffer,
/// so a subscriber that keeps copies keeps its buffer full.
class bus_event {
public:
  struct payload {
    std::string ns;
    std::shared_ptr<const aether::event> ev;
    /// The id of the node that published it ("" for this node).
    std::string origin;
  };

  bus_event() = default;
  bus_event(std::shared_ptr<const payload> p, std::shared_ptr<void> slot)
    : payload_(std::move(p)), slot_(std::move(slot)) {}

  /// The namespace the event was published into.
  const std::string& ns() const {
    return payload_->ns;
  }

  const aether::event& event() const {
    return *payload_->ev;
  }

  /// The node the event came from: empty for this node, else the remote
  /// node's id (set by the NATS bridge).
  const std::string& origin() const {
    return payload_->origin;
  }

  bool remote() const {
    return !payload_->origin.empty();
  }

private:
  std::shared_ptr<const payload> payload_;
  std::shared_ptr<void> slot_;
};

/// What a subscriber does when its buffer is full.
enum class overflow_policy {
  /// Drop the new event for this subscriber and count it (`dropped`).
  drop_newest,
  /// Make the publisher wait for a free slot, at most `max_block`; after that
  /// the event is dropped for this subscriber and counted. Publishers on
  /// CAF's scheduler threads (persistent actors) are held up meanwhile, so
  /// use it for subscribers that keep up on average.
  block,
};

/// Which events a subscription receives, besides its namespace pattern.
struct subscription_filter {
  /// Event types, any of which matches; empty: every type.
  std::set<std::string> event_types;
  /// NATS-style pattern over the actor id; empty: every actor. Actor ids
  /// that contain dots are matched token by token.
  std::string actor_pattern;
};

struct subscription_options {
  subscription_filter filter;
  /// Deliveries that may be in flight (sent, not yet consumed) at once.
  size_t buffer = 1024;
  overflow_policy overflow = overflow_policy::drop_newest;
  std::chrono::milliseconds max_block{1000};
};

/// Receives what the bus does; the NATS bridge implements it. Calls happen
/// on the publishing or subscribing thread and must not block for long.
class bus_listener {
public:
  virtual ~bus_listener();
  /// A pattern has local subscribers (it got its first one). Calls for one
  /// pattern are serialised and tell the state current when they are made;
  /// a listener may be told the same state twice, so both calls must be
  /// idempotent.
  virtual void pattern_added(const std::string& pattern) = 0;
  /// A pattern has no local subscriber any more.
  virtual void pattern_removed(const std::string& pattern) = 0;
  /// An event was published on this node (not one received from another
  /// node).
  virtual void
  published(const std::string& ns, const std::shared_ptr<const event>& ev)
    = 0;
};

/// The local event bus: publishers put events into a namespace, subscribers
/// (CAF actors or callbacks) receive those whose namespace matches their
/// pattern and that pass their filter. Thread-safe. Every subscriber has a
/// bounded buffer; nothing is lost without a counter showing it.
class event_bus : public std::enable_shared_from_this<event_bus> {
public:
  using subscription_id = uint64_t;
  using callback = std::function<void(const bus_event&)>;

  /// Counters of one namespace (for subscriptions: of one pattern).
  struct counters {
    uint64_t published = 0;
    uint64_t delivered = 0;
    uint64_t dropped = 0;
    uint64_t publish_errors = 0;
    uint64_t subscribe_errors = 0;
    int64_t subscriptions = 0;
  };

  struct subscription_stats {
    std::string pattern;
    uint64_t delivered = 0;
    uint64_t dropped = 0;
    /// Callback subscriptions: calls that threw (caught and counted).
    uint64_t errors = 0;
    size_t in_flight = 0;
  };

  explicit event_bus(caf::actor_system& sys);
  ~event_bus();

  event_bus(const event_bus&) = delete;
  event_bus& operator=(const event_bus&) = delete;

  /// Publishes `ev` into namespace `ns` (a literal, see `validate_namespace`)
  /// for local subscribers and, through a listener such as the NATS bridge,
  /// for other nodes. Fails with `invalid_argument` for a bad namespace.
  caf::error publish(const std::string& ns, event ev);
  caf::error publish(const std::string& ns, std::shared_ptr<const event> ev);

  /// Delivers an event that arrived from node `origin` to the local
  /// subscribers of exactly `pattern` (the bridge has one NATS subscription
  /// per pattern, so an event matching two patterns arrives once per
  /// pattern and is delivered once per subscriber). Not passed to listeners.
  void deliver_remote(const std::string& pattern, const std::string& ns,
                      std::shared_ptr<const event> ev, std::string origin);

  /// Subscribes actor `subscriber`: it receives `(bus_atom, bus_event)`.
  /// The subscription ends with `unsubscribe` or when the actor terminates.
  caf::expected<subscription_id> subscribe(const std::string& pattern,
                                           caf::actor subscriber,
                                           subscription_options opts = {});

  /// Subscribes a callback. It runs on an actor of its own (on CAF's
  /// scheduler threads), one event at a time, in order; it must not block.
  /// Once `unsubscribe` (or the bus's destructor) returns, the callback is
  /// not running and is never called again, so it may refer to objects
  /// that die right after; `unsubscribe` waits for a running call to end
  /// (a callback may end its own subscription).
  caf::expected<subscription_id> subscribe(const std::string& pattern,
                                           callback fn,
                                           subscription_options opts = {});

  /// Ends a subscription; false if it did not exist. For a callback it
  /// waits until the callback is not running.
  bool unsubscribe(subscription_id id);

  /// Statistics of one subscription, if it exists.
  std::optional<subscription_stats> stats(subscription_id id) const;

  /// Counters per namespace (publish side) and per pattern (subscription
  /// side), by name.
  std::map<std::string, counters> metrics() const;

  /// Prometheus text exposition of `metrics()` (names prefixed `aether_bus_`,
  /// label `namespace`).
  std::string to_prometheus() const;

  /// Adds a listener (called for patterns already subscribed at once).
  /// The listener must outlive the bus or be removed first.
  void add_listener(bus_listener* l);
  void remove_listener(bus_listener* l);

  caf::actor_system& system() const {
    return sys_;
  }

private:
  /// Tells every listener the current state of `pattern`.
  void sync_listeners(const std::string& pattern);
  struct subscription;
  using subscription_ptr = std::shared_ptr<subscription>;
  struct ns_counters;

  /// `prepare` completes the subscription before it becomes visible (a
  /// callback subscription's gate, queue and error count).
  caf::expected<subscription_id>
  add(const std::string& pattern, caf::actor subscriber, bool owned,
      subscription_options opts,
      const std::function<void(subscription&)>& prepare = nullptr);
  void deliver(const std::vector<subscription_ptr>& targets,
               const std::shared_ptr<const bus_event::payload>& p);
  ns_counters& counters_for(const std::string& name);

  caf::actor_system& sys_;
  mutable std::mutex mtx_;
  // Serializes listener calls without holding `mtx_`.
  std::mutex listener_mtx_;
  subscription_id next_id_ = 0;
  std::map<subscription_id, subscription_ptr> subs_;
  std::map<std::string, size_t> pattern_refs_;
  std::vector<bus_listener*> listeners_;
  std::map<std::string, std::unique_ptr<ns_counters>> counters_;
};

} // namespace aether

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aether::bus_event)
