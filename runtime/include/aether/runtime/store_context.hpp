#pragma once

#include "aether/persistence/snapshot_store.hpp"
#include "aether/runtime/runtime_metrics.hpp"
#include "aether/runtime/store_io.hpp"

#include <caf/fwd.hpp>
#include <memory>

namespace aether {

/// What persistent actors of one actor system share: the store, the I/O
/// workers that call it, and the metrics. Cheap to copy (shared pointers).
/// Destroy every copy before the actor system.
struct store_context {
  std::shared_ptr<event_store_with_snapshots> store;
  std::shared_ptr<store_io> io;
  std::shared_ptr<runtime_metrics> metrics;

  /// Creates a context with its own I/O workers and metrics.
  static store_context make(caf::actor_system& sys,
                            std::shared_ptr<event_store_with_snapshots> store,
                            store_io::options io_opts = {});
};

} // namespace aether
