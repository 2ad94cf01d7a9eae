#pragma once

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace aether {

/// When an actor registry (or a cluster node) stops its actors to make room
/// or because nobody uses them; they come back on their next message.
struct passivation_options {
  /// An actor without a message for this long is passivated (0: never).
  /// Akka's default, 120 s.
  std::chrono::milliseconds idle_timeout{120000};
  /// Active actors at most (0: no limit); beyond it the least recently used
  /// idle actors are passivated. Akka's default, 100,000.
  size_t max_active = 100000;
  /// Bytes of state of the active actors at most (0: no budget); beyond it
  /// the least recently used idle actors are passivated. A state counts its
  /// `memory_size()`, or else the size of its last snapshot's JSON.
  uint64_t memory_budget = 0;
  /// Passivated actors save a snapshot first when events were applied since
  /// their last one (and their state has a snapshot codec), so that the next
  /// activation replays nothing.
  bool snapshot = true;
  /// How often idle actors are looked for (0: a quarter of `idle_timeout`,
  /// at most 1 s).
  std::chrono::milliseconds check_interval{0};
  /// How long a passivated actor may take to stop (its last snapshot
  /// included) before it is killed.
  std::chrono::milliseconds stop_timeout{30000};

  /// The interval the registry checks at.
  std::chrono::milliseconds effective_check_interval() const;

  /// Checks the settings; the error names the option and the rule.
  caf::error validate() const;

  /// Reads `aether.passivation.*` (`idle-timeout`, `max-active`,
  /// `memory-budget`, `snapshot`, `check-interval`, `stop-timeout`); fails
  /// with `invalid_option` naming the option and the rule.
  static caf::expected<passivation_options>
  from_config(const caf::actor_system_config& cfg);
};

/// Declares the `aether.passivation.*` options (`aether::config` does).
void add_passivation_options(caf::config_option_set& options);

} // namespace aether
