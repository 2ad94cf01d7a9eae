#include "aether/runtime/actor_phase.hpp"

namespace aether {

std::string to_string(actor_phase x) {
  switch (x) {
    case actor_phase::awaiting_recovery: return "awaiting_recovery";
    case actor_phase::recovering: return "recovering";
    case actor_phase::running: return "running";
    case actor_phase::persisting: return "persisting";
    case actor_phase::restarting: return "restarting";
    case actor_phase::passivating: return "passivating";
    case actor_phase::stopping: return "stopping";
  }
  return "invalid";
}

} // namespace aether
