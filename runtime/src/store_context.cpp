#include "aether/runtime/store_context.hpp"

#include "aether/runtime/event_bus.hpp"

namespace aether {

store_context
store_context::make(caf::actor_system& sys,
                    std::shared_ptr<event_store_with_snapshots> store,
                    store_io::options io_opts) {
  store_context ctx;
  ctx.store = std::move(store);
  ctx.io = std::make_shared<store_io>(sys, io_opts);
  ctx.metrics = std::make_shared<runtime_metrics>();
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
  if (bus)
    text += bus->to_prometheus();
  return text;
}

} // namespace aether
