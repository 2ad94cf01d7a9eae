#pragma once

#include "aether/persistence/event_upcasters.hpp"
#include "aether/persistence/snapshot_store.hpp"
#include "aether/snapshot/recovery.hpp"
#include "aether/snapshot/snapshot_codec.hpp"
#include "aether/snapshot/state_traits.hpp"

#include <caf/expected.hpp>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace aether {

/// An actor's state rebuilt outside the actor.
template <class State>
struct captured_state {
  State state;
  /// The version of the last event folded into `state` (0: no events).
  int64_t version = 0;
  /// The snapshot it started from, if any.
  std::optional<int64_t> snapshot_version;
  /// Events replayed on top of the snapshot.
  int64_t events_replayed = 0;
  /// Snapshots skipped because they did not decode.
  size_t fallbacks = 0;
};

/// Rebuilds the state of `actor_id` at `up_to_version` (default: latest)
/// from the newest suitable snapshot plus the events after it, with the same
/// state type (and `state_traits`) the actor uses, and the same upcasters
/// (events reach `apply` in their current shape).
template <class State>
caf::expected<captured_state<State>>
capture_state(event_store_with_snapshots& store, const std::string& actor_id,
              int64_t up_to_version = std::numeric_limits<int64_t>::max(),
              size_t batch_size = 10000,
              const std::shared_ptr<const event_upcasters>& upcasters = {}) {
  captured_state<State> result;
  auto loaded = load_snapshot_with_fallback(
    store, actor_id, up_to_version, [&](const actor_snapshot& s) {
      State tmp;
      if (auto err = state_traits<State>::from_snapshot(s.state, tmp))
        return err;
      result.state = std::move(tmp);
      return caf::error{};
    });
  if (!loaded)
    return loaded.error();
  result.fallbacks = loaded->fallbacks;
  uint64_t position = 0;
  if (loaded->snapshot) {
    result.version = loaded->snapshot->version;
    result.snapshot_version = loaded->snapshot->version;
    position = loaded->snapshot->store_position;
  }
  caf::error failed;
  auto n = replay_events(
    store, actor_id, result.version + 1, up_to_version, batch_size,
    [&](const event& e) {
      result.version = e.version;
      if (!failed)
        failed
          = event_upcasters::each_current(upcasters, e, [&](const event& c) {
              state_traits<State>::apply(result.state, c);
            });
    },
    position);
  if (!n)
    return n.error();
  if (failed)
    return failed;
  result.events_replayed = *n;
  return result;
}

/// The latest snapshot of an actor plus the events after it, so that a reader
/// replays only the tail.
struct loaded_events {
  std::optional<actor_snapshot> snapshot;
  std::vector<event> events;
};

/// Loads the newest snapshot of `actor_id` that decodes as JSON plus every
/// event after it (upcast to the current shape with `upcasters`).
caf::expected<loaded_events>
load(event_store_with_snapshots& store, const std::string& actor_id,
     size_t batch_size = 10000,
     const std::shared_ptr<const event_upcasters>& upcasters = {});

/// Builds a snapshot of `state` at `version` with the state's encoder (its
/// `to_snapshot`, or for a described typed state the derived codec).
template <class State>
actor_snapshot create_snapshot(const std::string& actor_id, int64_t version,
                               const State& state) {
  actor_snapshot s;
  s.actor_id = actor_id;
  s.version = version;
  if constexpr (snapshot_codec<State>::described
                && !snapshot_codec<State>::hand_written)
    s.state = snapshot_codec<State>::encode(state);
  else
    s.state = state_traits<State>::to_snapshot(state);
  s.time = now();
  return s;
}

} // namespace aether
