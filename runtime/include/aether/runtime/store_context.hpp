#pragma once

#include "aether/persistence/snapshot_store.hpp"
#include "aether/runtime/recovery_limiter.hpp"
#include "aether/runtime/runtime_metrics.hpp"
#include "aether/runtime/store_io.hpp"

#include <caf/fwd.hpp>
#include <memory>
#include <string>

namespace aether {

class event_bus;

/// What persistent actors of one actor system share: the store, the I/O
/// workers that call it, and the metrics. Cheap to copy (shared pointers).
/// Destroy every copy before the actor system.
struct store_context {
  std::shared_ptr<event_store_with_snapshots> store;
  std::shared_ptr<store_io> io;
  std::shared_ptr<runtime_metrics> metrics;
  /// Bounds the recoveries that run at once (null: no bound). `make` sets
  /// it to `aether.recovery.max-concurrent` (default 50).
  std::shared_ptr<recovery_limiter> recoveries;
  /// Optional: the bus that receives the stored events and an `EventStored`
  /// notification per event (see `persistence_options::publish_events`),
  /// published into `bus_namespace`.
  std::shared_ptr<event_bus> bus;
  std::string bus_namespace = "default";

  /// Sets the bus and its namespace; returns `*this`.
  store_context& with_bus(std::shared_ptr<event_bus> b, std::string ns);

  /// The persistence metrics and, with a bus, the bus metrics, as one
  /// Prometheus text exposition.
  std::string prometheus() const;

  /// The default of `aether.recovery.max-concurrent`.
  static constexpr size_t default_max_concurrent_recoveries = 50;

  /// Creates a context with its own I/O workers, metrics and recovery
  /// limiter (its limit read from the system's config).
  static store_context make(caf::actor_system& sys,
                            std::shared_ptr<event_store_with_snapshots> store,
                            store_io::options io_opts = {});
};

} // namespace aether
