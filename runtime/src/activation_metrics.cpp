#include "aether/runtime/activation_metrics.hpp"

#include "aether/runtime/runtime_metrics.hpp"

namespace aether {

void activation_metrics::passivated(passivation_cause cause) {
  switch (cause) {
    case passivation_cause::idle: idle_ += 1; break;
    case passivation_cause::count_limit: count_limit_ += 1; break;
    case passivation_cause::memory_budget: memory_budget_ += 1; break;
  }
}

void activation_metrics::set_active(uint64_t n) {
  active = n;
  if (n > active_peak.load())
    active_peak = n; // one writer (the registry): no lost update
}

activation_metrics::values activation_metrics::read() const {
  values v;
  v.active = active.load();
  v.active_peak = active_peak.load();
  v.activations = activations.load();
  v.passivations_idle = idle_.load();
  v.passivations_count_limit = count_limit_.load();
  v.passivations_memory_budget = memory_budget_.load();
  v.passivation_kills = passivation_kills.load();
  v.state_bytes = state_bytes.load();
  v.messages_held = messages_held.load();
  return v;
}

std::string activation_metrics::to_prometheus() const {
  auto v = read();
  std::string out;
  prometheus_counter(out, "aether_actors_active",
                     "Actors active (not passivated) in the registry.",
                     v.active, "gauge");
  prometheus_counter(out, "aether_activations_total",
                     "Actors started on a message (first or after a "
                     "passivation).",
                     v.activations);
  out += "# HELP aether_passivations_total Actors passivated, by cause.\n"
         "# TYPE aether_passivations_total counter\n";
  out += "aether_passivations_total{cause=\"idle\"} "
         + std::to_string(v.passivations_idle) + "\n";
  out += "aether_passivations_total{cause=\"count_limit\"} "
         + std::to_string(v.passivations_count_limit) + "\n";
  out += "aether_passivations_total{cause=\"memory_budget\"} "
         + std::to_string(v.passivations_memory_budget) + "\n";
  prometheus_counter(out, "aether_passivation_kills_total",
                     "Passivated actors killed after the stop timeout.",
                     v.passivation_kills);
  prometheus_counter(out, "aether_actor_state_bytes",
                     "Bytes of state of the active actors (as measured).",
                     v.state_bytes, "gauge");
  prometheus_counter(out, "aether_messages_held",
                     "Messages waiting for a passivating actor to stop.",
                     v.messages_held, "gauge");
  return out;
}

} // namespace aether
