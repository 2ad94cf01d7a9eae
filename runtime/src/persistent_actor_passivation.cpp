#include "aether/runtime/persistent_actor_base.hpp"

// Phase passivating: the last snapshot, the reply, the normal stop.

#include <caf/mailbox_element.hpp>

namespace aether {

bool persistent_actor_base::try_passivate(caf::mailbox_element& x) {
  auto& msg = x.content();
  bool snapshot = true;
  if (msg.match_elements<passivate_atom, bool>())
    snapshot = msg.get_as<bool>(1);
  else if (!msg.match_elements<passivate_atom>())
    return false;
  // Reads the current mailbox element: the caller sets it to `x`.
  caf::response_promise rp;
  if (x.mid.is_request())
    rp = make_response_promise();
  enter(actor_phase::passivating);
  auto finish = [this, rp]() mutable {
    if (rp.pending())
      rp.deliver(version_);
    quit();
  };
  if (snapshot && version_ > 0 && events_since_snapshot_ > 0)
    take_snapshot(std::move(finish));
  else
    finish();
  return true;
}

} // namespace aether
