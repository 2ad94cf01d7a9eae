#include "aether/persistence/typed_events.hpp"

namespace aether::detail {

std::string describe_event(const event& e) {
  return "event " + std::to_string(e.version) + " of \"" + e.actor_id
         + "\" (id " + e.id + ", type \"" + e.type + "\")";
}

} // namespace aether::detail
