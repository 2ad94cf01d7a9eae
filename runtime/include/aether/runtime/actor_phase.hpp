#pragma once

#include <cstdint>
#include <string>

namespace aether {

/// Where a persistent actor is in its life. Commands run only in `running`;
/// in every other phase they wait in the actor's stash (or, in `stopping`,
/// get the stop reason). Each phase's code has its own source file in
/// `runtime/src/` (see docs/architecture.md).
enum class actor_phase : uint8_t {
  /// Waiting for a slot of the node's recovery limiter (at most
  /// `aether.recovery.max-concurrent` recoveries at a time), then
  /// `recovering` (persistent_actor_recovery.cpp). The initial phase.
  awaiting_recovery,
  /// Loading the newest snapshot, then replaying the events after it
  /// (persistent_actor_recovery.cpp).
  recovering,
  /// Commands run; pipelined persists may be in flight
  /// (persistent_actor_persist.cpp, persistent_actor_pipeline.cpp).
  running,
  /// A sequential persist is in flight: its events are with the store
  /// (persistent_actor_persist.cpp).
  persisting,
  /// An outcome is unknown or the store unavailable: waiting out the
  /// backoff before recovering again (persistent_actor_recovery.cpp).
  restarting,
  /// Saving the last snapshot before stopping normally
  /// (persistent_actor_passivation.cpp).
  passivating,
  /// Failed for good: every request gets the stop reason until the actor
  /// quits. Final.
  stopping,
};

/// The phase's name, as in the enum.
std::string to_string(actor_phase x);

} // namespace aether
