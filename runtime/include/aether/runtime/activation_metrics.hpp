#pragma once

#include "aether/runtime/activation_table.hpp"

#include <atomic>
#include <cstdint>
#include <string>

namespace aether {

/// What an actor registry (or a cluster node) counts about activations and
/// passivations; safe to read from any thread.
class activation_metrics {
public:
  struct values {
    uint64_t active = 0;
    uint64_t active_peak = 0;
    uint64_t activations = 0;
    uint64_t passivations_idle = 0;
    uint64_t passivations_count_limit = 0;
    uint64_t passivations_memory_budget = 0;
    uint64_t passivation_kills = 0;
    uint64_t state_bytes = 0;
    uint64_t messages_held = 0;

    uint64_t passivations() const {
      return passivations_idle + passivations_count_limit
             + passivations_memory_budget;
    }
  };

  /// Sets `active` (and raises `active_peak`).
  void set_active(uint64_t n);

  /// Counts one passivation of `cause`.
  void passivated(passivation_cause cause);

  values read() const;

  /// Prometheus text: `aether_actors_active`, `aether_activations_total`,
  /// `aether_passivations_total{cause=...}`, `aether_passivation_kills_total`,
  /// `aether_actor_state_bytes`, `aether_messages_held`.
  std::string to_prometheus() const;

  std::atomic<uint64_t> active{0};
  /// The most actors active at once so far.
  std::atomic<uint64_t> active_peak{0};
  std::atomic<uint64_t> activations{0};
  std::atomic<uint64_t> passivation_kills{0};
  std::atomic<uint64_t> state_bytes{0};
  std::atomic<uint64_t> messages_held{0};

private:
  std::atomic<uint64_t> idle_{0};
  std::atomic<uint64_t> count_limit_{0};
  std::atomic<uint64_t> memory_budget_{0};
};

} // namespace aether
