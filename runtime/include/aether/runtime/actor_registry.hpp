#pragma once

#include "aether/runtime/activation_metrics.hpp"
#include "aether/runtime/passivation_options.hpp"

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <functional>
#include <memory>
#include <string>

namespace aether {

/// `(ask_atom, id, caf::message)` to `actor_registry::router()`: delivers
/// the message to actor `id` (started if it is not active) and answers with
/// its answer.
using ask_atom = caf::atom_constant<caf::atom("ae_ask")>;

/// Starts actor `id` (usually spawns a persistent actor with `id` as its
/// persistence id).
using activation_factory
  = std::function<caf::actor(caf::actor_system& sys, const std::string& id)>;

/// A node's actors by id, started on their first message and passivated
/// when idle or when the node holds too many (`passivation_options`), like
/// Akka's sharded entities on one node and Orleans' grain activations.
///
/// - Get-or-activate: `(ask_atom, id, msg)` to `router()`, or any message
///   to `ref(id)`, reaches the active actor `id`, started by the factory if
///   it is not active. Users hold ids (or refs), never the actor itself, so
///   an actor can stop and come back transparently.
/// - Passivation: an actor without a message for `idle_timeout` is sent
///   `(passivate_atom, snapshot)` behind the messages before it: it saves a
///   snapshot (when events were applied since its last one) and stops.
///   Beyond `max_active` actors or `memory_budget` bytes of state the least
///   recently used actors without a message in flight are passivated too.
/// - `max_active` is a hard limit: a message for an inactive actor when
///   every active one has a message in flight waits in the registry until
///   one is done and can be passivated (activations in arrival order).
/// - Messages for an actor that is passivating wait in the registry, in
///   order, and go to its next activation once it stopped: none is lost or
///   reordered. So do messages the actor bounced because it stopped on its
///   own.
/// - Activations go through the store context's recovery limiter like
///   every persistent actor: a storm of them queues instead of timing out.
///
/// The registry is an actor and never blocks. Every message routed through
/// it is a request to the actor, and its answer (a value or an error) goes
/// back to the sender.
class actor_registry {
public:
  /// Spawns a registry that starts actors with `factory`.
  static std::shared_ptr<actor_registry> spawn(caf::actor_system& sys,
                                               activation_factory factory,
                                               passivation_options opts = {});

  /// Spawns a registry with `aether.passivation.*` from the system's config;
  /// fails with `invalid_option` naming the option.
  static caf::expected<std::shared_ptr<actor_registry>>
  spawn_from_config(caf::actor_system& sys, activation_factory factory);

  /// Stops the registry: its actors are passivated (each saves its snapshot)
  /// and messages waiting in it get `runtime_error::actor_stopped`.
  ~actor_registry();

  actor_registry(const actor_registry&) = delete;
  actor_registry& operator=(const actor_registry&) = delete;

  /// Takes `(ask_atom, id, caf::message)` requests.
  caf::actor router() const {
    return router_;
  }

  /// An actor that forwards every request to actor `id` through the
  /// registry and answers with its answer. Cheap to keep; stops with the
  /// registry.
  caf::actor ref(const std::string& id) const;

  /// Changes the limits at run time (asynchronously: the registry applies
  /// them at its next message, passivating at once what is over a lower
  /// limit). Invalid options are refused with the error.
  caf::error set_options(passivation_options opts);

  const activation_metrics& metrics() const {
    return *metrics_;
  }

  /// `metrics()` as Prometheus text.
  std::string prometheus() const {
    return metrics_->to_prometheus();
  }

private:
  actor_registry(caf::actor router, std::shared_ptr<activation_metrics> m);

  caf::actor router_;
  std::shared_ptr<activation_metrics> metrics_;
};

/// Spawns the registry's actor alone (`actor_registry` owns one; tests on
/// CAF's test_coordinator use it directly).
caf::actor spawn_registry_actor(caf::actor_system& sys,
                                activation_factory factory,
                                passivation_options opts,
                                std::shared_ptr<activation_metrics> metrics);

/// `(registry_active_atom)` to the registry's actor: the ids of the active
/// actors, sorted (`std::vector<std::string>`).
using registry_active_atom = caf::atom_constant<caf::atom("ae_ractive")>;

/// `(registry_options_atom, passivation_options)` to the registry's actor:
/// new limits.
using registry_options_atom = caf::atom_constant<caf::atom("ae_popts")>;

} // namespace aether

// Sent between actors of one process only.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aether::passivation_options)
