#include "aether/runtime/store_context.hpp"

#include "aether/runtime/event_bus.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/config_value.hpp>

namespace aether {

store_context
store_context::make(caf::actor_system& sys,
                    std::shared_ptr<event_store_with_snapshots> store,
                    store_io::options io_opts) {
  store_context ctx;
  ctx.store = std::move(store);
  ctx.io = std::make_shared<store_io>(sys, io_opts);
  ctx.metrics = std::make_shared<runtime_metrics>();
  ctx.recoveries = std::make_shared<recovery_limiter>(
    caf::get_or(sys.config(), "aether.recovery.max-concurrent",
                default_max_concurrent_recoveries));
  return ctx;
}

store_context& store_context::with_bus(std::shared_ptr<event_bus> b,
                                       std::string ns) {
  bus = std::move(b);
  bus_namespace = std::move(ns);
  return *this;
}

std::string store_context::prometheus() const {
  auto text = metrics ? metrics->to_prometheus() : std::string{};
  if (recoveries) {
    prometheus_counter(text, "aether_recoveries_running",
                       "Recoveries holding a slot of the recovery limiter.",
                       recoveries->running(), "gauge");
    prometheus_counter(text, "aether_recoveries_waiting",
                       "Actors waiting for a recovery slot.",
                       recoveries->waiting(), "gauge");
    prometheus_counter(text, "aether_recovery_limit",
                       "Recoveries allowed at once (0: no limit).",
                       recoveries->limit(), "gauge");
  }
  if (bus)
    text += bus->to_prometheus();
  return text;
}

} // namespace aether
