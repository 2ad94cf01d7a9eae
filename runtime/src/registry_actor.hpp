#pragma once

// The actor behind `actor_registry`: get-or-activate, passivation and the
// messages held while an actor stops. Not a public header.

#include "aether/runtime/activation_metrics.hpp"
#include "aether/runtime/activation_table.hpp"
#include "aether/runtime/actor_registry.hpp"
#include "aether/runtime/passivation_options.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>

namespace aether {

class persistent_actor_base;

class registry_actor : public caf::event_based_actor {
public:
  registry_actor(caf::actor_config& cfg, activation_factory factory,
                 passivation_options opts,
                 std::shared_ptr<activation_metrics> metrics);

  caf::behavior make_behavior() override;

  void on_exit() override;

private:
  struct held_message {
    caf::response_promise rp;
    caf::message content;
  };

  struct slot {
    caf::actor handle;
    /// The actor as a persistent actor (null for other actors): its state
    /// size is read from it.
    const persistent_actor_base* persistent = nullptr;
    /// Asked to passivate, or found stopped: new messages are held.
    bool stopping = false;
    /// Not started yet: waits for room under `max_active`.
    bool waiting = false;
    /// Held messages, oldest first; the first `bounced` came back from the
    /// actor unprocessed (they are older than the others).
    std::deque<held_message> held;
    size_t bounced = 0;
  };

  void ask(const std::string& id, caf::message content,
           caf::response_promise rp);
  /// Starts actor `id` into `s`; the factory's error if it failed.
  caf::error activate(const std::string& id, slot& s);
  void forward(const std::string& id, slot& s, caf::message content,
               caf::response_promise rp);
  void answered(const std::string& id, const caf::actor_addr& from,
                caf::message& answer, caf::message& content, uint64_t key);
  /// Passivates what `opts_` says is too much or idle.
  void enforce();
  /// True when one more actor may start, passivating the least recently
  /// used idle one if that makes room.
  bool make_room();
  /// Starts waiting actors while there is room, in arrival order.
  void admit();
  void passivate(const std::string& id, slot& s, passivation_cause cause);
  void stopped(const caf::actor_addr& who);
  void hold(slot& s, caf::response_promise rp, caf::message content,
            bool bounced);
  void update_gauges();
  void tick_later();

  activation_factory factory_;
  passivation_options opts_;
  std::shared_ptr<activation_metrics> metrics_;
  activation_table table_;
  std::unordered_map<std::string, slot> slots_;
  std::unordered_map<caf::actor_addr, std::string> names_;
  /// The requests forwarded to actors and not answered yet, by key: the
  /// registry answers them itself if it stops first.
  std::unordered_map<uint64_t, caf::response_promise> forwarded_;
  uint64_t next_forward_ = 0;
  /// Ids waiting for room, oldest first.
  std::deque<std::string> queue_;
  size_t held_ = 0;
  bool ticking_ = false;
};

} // namespace aether
