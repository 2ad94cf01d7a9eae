#pragma once

#include "aether/persistence/event_upcasters.hpp"
#include "aether/runtime/event_bus.hpp"
#include "aether/runtime/store_context.hpp"

#include <atomic>
#include <caf/actor.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>

namespace aether {

namespace detail {
struct call_gate;
} // namespace detail

/// Options of an `event_follower`.
struct follower_options {
  /// Actors to follow (NATS-style pattern over the actor id; empty: all).
  std::string actor_pattern;
  /// Event types handed to the handler (empty: all). Versions of every type
  /// are tracked, so a filtered type never looks like a gap.
  std::set<std::string> event_types;
  /// When an actor is first seen: true hands over its history from version 1
  /// (read from the store); false starts with the event seen.
  bool from_start = true;
  /// The bus subscription's buffer; a full buffer drops deliveries, which
  /// the follower then notices as a gap and reads from the store.
  size_t buffer = 4096;
  /// Delay before retrying a failed catch-up read.
  std::chrono::milliseconds retry_delay{500};
  /// Timeout of one catch-up read.
  std::chrono::milliseconds read_timeout{30000};
  /// Events read per catch-up store call (a long tail is read in batches,
  /// so no single read holds an I/O worker for long).
  size_t catch_up_batch = 1000;
  /// Actors tracked at most. Past it, the actors seen least recently (and
  /// not catching up) are forgotten: such an actor's next event is taken as
  /// it comes (like `from_start = false`), so a gap that opened while it
  /// was forgotten and ends at that event is not noticed. The names of
  /// forgotten actors are kept for 10 x this many actors; one forgotten
  /// longer than that is new again (with `from_start`, its history is handed
  /// over again). Counted in `stats::evicted`.
  size_t max_tracked_actors = 100000;
  /// The store of each namespace, for a pattern that spans namespaces (has
  /// a wildcard): catch-up reads go to the namespace's own store. Without
  /// it such a pattern is refused (one store cannot answer for them all).
  std::function<std::shared_ptr<event_store>(const std::string& ns)> store_for;
  /// Schema evolution: each event reaches the handler in its current shape
  /// (zero or more events; see `event_upcasters`), from the bus and from
  /// catch-up reads alike; `event_types` names current types. An event that
  /// cannot be upcast is not handed over and is counted
  /// (`stats::upcast_failures`).
  std::shared_ptr<const event_upcasters> upcasters;
};

/// Follows the events of actors through the bus and hands them to a handler
/// in version order, without gaps and without duplicates. Bus delivery is at
/// most once (a full buffer drops; core NATS drops during a reconnect); the
/// follower notices a missing version (a later event, or an `EventStored`
/// notification ahead of what it has seen) and reads the missing events from
/// the store before going on. `EventStored` notifications only drive this;
/// the handler sees the events themselves.
class event_follower {
public:
  using handler = std::function<void(const std::string& ns, const event&)>;

  struct stats {
    std::atomic<uint64_t> delivered{0};
    /// Times a missing version was noticed.
    std::atomic<uint64_t> gaps{0};
    /// Events read from the store to close gaps (and for `from_start`).
    std::atomic<uint64_t> caught_up{0};
    /// Events seen again (already handed over) and ignored.
    std::atomic<uint64_t> duplicates{0};
    /// Catch-up reads that failed (retried after `retry_delay`).
    std::atomic<uint64_t> read_failures{0};
    /// Versions the store no longer has (deleted): skipped, never silent.
    std::atomic<uint64_t> lost{0};
    /// Handler calls that threw (caught).
    std::atomic<uint64_t> handler_errors{0};
    /// Actors forgotten to stay within `max_tracked_actors`.
    std::atomic<uint64_t> evicted{0};
    /// Events that could not be upcast (not handed over).
    std::atomic<uint64_t> upcast_failures{0};
  };

  /// Starts following `pattern` (a namespace pattern) on `bus`, reading
  /// missing events through `ctx` (its store and I/O workers). The handler
  /// runs on the follower's actor, one event at a time.
  static caf::expected<std::unique_ptr<event_follower>>
  start(std::shared_ptr<event_bus> bus, const std::string& pattern,
        store_context ctx, handler fn, follower_options opts = {});

  /// Unsubscribes and stops the actor. Once it returns, the handler is not
  /// running and is never called again.
  ~event_follower();

  const stats& statistics() const {
    return *stats_;
  }

  const caf::actor& actor() const {
    return actor_;
  }

private:
  event_follower() = default;

  std::shared_ptr<event_bus> bus_;
  event_bus::subscription_id sub_ = 0;
  caf::actor actor_;
  std::shared_ptr<stats> stats_;
  std::shared_ptr<detail::call_gate> gate_;
};

} // namespace aether
