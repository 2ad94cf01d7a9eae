#pragma once

#include "aether/persistence/snapshot_store.hpp"
#include "aether/runtime/config.hpp"
#include "aether/runtime/persistence_options.hpp"

#include <functional>
#include <memory>

namespace aether::testkit {

/// How a `behavior_testkit` builds its actor system, store and actor.
struct testkit_options {
  /// The store under the kit's `failing_store`: a fresh `memory_store`
  /// when empty. Any store works (a `sqlite_store` on a temp file, ...).
  std::shared_ptr<event_store_with_snapshots> store;
  /// The actor's persistence options (snapshot policy, failure modes, ...).
  persistence_options persistence;
  /// Adds to the actor system's config before the system starts (announce
  /// message types, set options). The scheduler is always CAF's
  /// deterministic test coordinator.
  std::function<void(aether::config&)> configure;
  /// Checks after every command that each event it stored and the state's
  /// snapshot round-trip through JSON (throws `check_failed` if not).
  bool check_round_trip = true;
};

} // namespace aether::testkit
