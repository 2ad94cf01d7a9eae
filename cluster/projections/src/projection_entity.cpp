#include "projection_entity.hpp"

#include "aether/core/error.hpp"
#include "aether/runtime/persistent_actor_base.hpp"
#include "aether/runtime/runtime_error.hpp"

namespace aether::detail {

projection_entity::projection_entity(caf::actor_config& cfg, std::string name,
                                     projection_starter start)
  : caf::event_based_actor(cfg), name_(std::move(name)),
    start_(std::move(start)) {
  // nop
}

caf::behavior projection_entity::make_behavior() {
  caf::expected<std::unique_ptr<projection>> started{nullptr};
  try {
    started = start_();
  } catch (...) {
    started = make_user_code_error(
      "the starter of projection \"" + name_ + "\"", std::current_exception());
  }
  if (started && !*started)
    started = make_runtime_error(runtime_error::user_code_failed,
                                 "the starter of projection \"" + name_
                                   + "\" returned no projection");
  if (!started) {
    // The ask that spawned it gets the error, and it stops: the next ask
    // starts it again.
    auto err = started.error();
    return {
      [this, err](projection_ping_atom) -> caf::result<uint64_t> {
        quit(err);
        return err;
      },
      [this](passivate_atom) {
        quit();
      },
      [this](passivate_atom, bool) {
        quit();
      },
    };
  }
  running_ = std::move(*started);
  return {
    [this](projection_ping_atom) {
      return handled();
    },
    // A hand-over: the handler call in progress ends, the offsets are
    // stored, then the shard moves.
    [this](passivate_atom) {
      running_->stop();
      quit();
    },
    [this](passivate_atom, bool) {
      running_->stop();
      quit();
    },
  };
}

void projection_entity::on_exit() {
  // Killed (the node lost its lease or crashed): stop before the actor
  // is gone; the next node resumes from the stored offsets.
  running_.reset();
}

uint64_t projection_entity::handled() const {
  uint64_t n = 0;
  for (auto& s : running_->stats())
    n += s.handled;
  return n;
}

} // namespace aether::detail
