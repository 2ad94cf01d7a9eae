#pragma once

#include "aether/persistence/event.hpp"

#include <caf/fwd.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <typeindex>
#include <vector>

namespace aether {

/// What a snapshot policy sees after each persisted event (each event of a
/// batch is checked on its own).
struct snapshot_check {
  /// The event just applied.
  const event& ev;
  /// The actor's version after applying it.
  int64_t version;
  /// Events applied since the last snapshot (or since the actor started,
  /// counting replayed events, if it has none).
  int64_t events_since_snapshot;
  /// When the last snapshot was taken (or the actor recovered).
  timestamp last_snapshot_time;
  /// The current time.
  timestamp now;
  /// The state after applying `ev`; read it with `state_as<State>()`.
  const void* state = nullptr;
  std::type_index state_type = typeid(void);

  template <class State>
  const State* state_as() const {
    return state_type == typeid(State) ? static_cast<const State*>(state)
                                       : nullptr;
  }
};

/// When a persistent actor takes snapshots and which it keeps.
///
/// A value type: rules are combined with "any of" (the policy fires when one
/// rule fires) and checked after every persisted event, including each event
/// of a batch. The default policy never snapshots.
///
/// ```
/// auto policy = aether::snapshot_policy{}
///                 .every_events(1000)
///                 .on_event_types({"closed"})
///                 .keep_newest(3);
/// ```
class snapshot_policy {
public:
  using predicate = std::function<bool(const snapshot_check&)>;

  /// Fires once `n` events were applied since the last snapshot.
  snapshot_policy& every_events(int64_t n);

  /// Version-based hybrid: fires at every version divisible by `n`, but not
  /// sooner than `min_events` events after the last snapshot, and always once
  /// `max_events` events were applied since the last snapshot (0: no max).
  snapshot_policy& every_versions(int64_t n, int64_t min_events,
                                  int64_t max_events);

  /// Fires at most once per `interval`, checked when events are stored.
  snapshot_policy& every_interval(std::chrono::nanoseconds interval);

  /// Fires after an event of one of these types.
  snapshot_policy& on_event_types(std::set<std::string> types);

  /// Fires when `f(state, event, version)` returns true. An actor whose
  /// state is not a `State` refuses the policy at spawn (the rule could
  /// never fire). Typed actors have a typed form:
  /// `event_sourced<...>::snapshot_when`.
  template <class State>
  snapshot_policy&
  when(std::function<bool(const State&, const event&, int64_t)> f) {
    return when_state(typeid(State), [f](const snapshot_check& c) {
      auto* s = c.state_as<State>();
      return s != nullptr && f(*s, c.ev, c.version);
    });
  }

  /// Fires when `f(check)` returns true; `f` reads a state of type `state`
  /// (checked when an actor starts with the policy).
  snapshot_policy& when_state(std::type_index state, predicate f);

  /// Fires when `f(check)` returns true.
  snapshot_policy& when_check(predicate f);

  /// Takes a snapshot right after recovery when more than `n` events were
  /// replayed (an expected snapshot was missing). Without this call the limit
  /// is derived from the count rules (`every_events` n, `every_versions`
  /// max_events or n); `std::nullopt` disables the rule.
  snapshot_policy& snapshot_after_recovery_above(std::optional<int64_t> n);

  /// Keeps the newest `k` snapshots of each actor and deletes older ones
  /// (0: keep all).
  snapshot_policy& keep_newest(size_t k);

  /// After a snapshot, deletes the events up to the oldest snapshot that is
  /// kept, so that every kept snapshot can still be recovered from. Off by
  /// default. Full replay is impossible afterwards.
  snapshot_policy& delete_events(bool enable = true);

  // -- queries
  // ------------------------------------------------------------------

  /// Returns true if any rule fires.
  bool should_snapshot(const snapshot_check& c) const;

  /// Returns true if any rule is set.
  bool enabled() const;

  /// True when `other` has the same rules; false whenever either has a
  /// `when` rule (functions cannot be compared).
  bool same_rules(const snapshot_policy& other) const;

  /// The replay length above which recovery takes a snapshot, if any.
  std::optional<int64_t> max_replay() const;

  size_t retention() const {
    return keep_newest_;
  }

  bool deletes_events() const {
    return delete_events_;
  }

  /// The state type the `when` rules read, if any.
  const std::optional<std::type_index>& state_type() const {
    return state_type_;
  }

  /// Reads a policy from CAF's config (`caf-application.ini` or the command
  /// line), keys under `aether.snapshot.`: `every`, `every-versions`,
  /// `min-events`, `max-events`, `interval` (a timespan such as `30s`),
  /// `event-types` (a list of strings), `after-recovery-above`, `keep`,
  /// `delete-events`. Declare them with `add_snapshot_options`.
  static snapshot_policy from_config(const caf::actor_system_config& cfg);

private:
  int64_t every_events_ = 0;
  int64_t every_versions_ = 0;
  int64_t min_events_ = 0;
  int64_t max_events_ = 0;
  std::chrono::nanoseconds interval_{0};
  std::set<std::string> event_types_;
  std::vector<predicate> predicates_;
  bool after_recovery_set_ = false;
  std::optional<int64_t> after_recovery_;
  size_t keep_newest_ = 0;
  bool delete_events_ = false;
  std::optional<std::type_index> state_type_;
};

/// Declares the `aether.snapshot.*` options in a CAF config option set (call
/// it from your `actor_system_config` subclass with `custom_options_`).
void add_snapshot_options(caf::config_option_set& options);

} // namespace aether
