#pragma once

#include "aether/cluster_projections/cluster_projections.hpp"

#include <caf/event_based_actor.hpp>
#include <memory>
#include <string>

namespace aether::detail {

/// One projection as a cluster entity: starts it when spawned, answers
/// asks with the events handled, stops it on passivation (a graceful
/// hand-over) or when killed (a lost lease). Spawned detached: starting
/// and stopping a projection block.
class projection_entity : public caf::event_based_actor {
public:
  projection_entity(caf::actor_config& cfg, std::string name,
                    projection_starter start);

  caf::behavior make_behavior() override;

  void on_exit() override;

private:
  uint64_t handled() const;

  std::string name_;
  projection_starter start_;
  std::unique_ptr<projection> running_;
};

} // namespace aether::detail
