#include "aether/runtime/store_context.hpp"

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

} // namespace aether
