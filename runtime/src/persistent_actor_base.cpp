#include "aether/runtime/persistent_actor_base.hpp"

#include "aether/core/log.hpp"

// Construction, setup checks, stopping and shared helpers; each phase's
// code is in its own file (see actor_phase.hpp).

#include "aether/core/error.hpp"
#include "aether/persistence/validation.hpp"
#include "aether/runtime/runtime_error.hpp"
#include "persistent_actor_detail.hpp"
#include "shared_setup.hpp"

#include <caf/mailbox_element.hpp>
#include <caf/send.hpp>

namespace aether {

using namespace detail;

persistent_actor_base::state_box::~state_box() = default;

persistent_actor_base::persistent_actor_base(caf::actor_config& cfg,
                                             std::string persistence_id,
                                             store_context ctx,
                                             persistence_options opts)
  : caf::event_based_actor(cfg), persistence_id_(std::move(persistence_id)),
    ctx_(share_context(std::move(ctx))), opts_(share_options(std::move(opts))) {
  // nop
}

persistent_actor_base::~persistent_actor_base() = default;

bool persistent_actor_base::in_flight::unused() const {
  return !pending_persist && !persist_reply && pipeline.empty() && unstored == 0
         && !pipeline_failed && !snapshot_due && !pipeline_error && !held_exit;
}

snapshot_policy& persistent_actor_base::snapshots() {
  if (!opts_own_) {
    auto own = std::make_shared<persistence_options>(*opts_);
    opts_ = own;
    opts_own_ = true;
    return own->snapshots;
  }
  // Made above as a non-const object, and held by this actor only.
  return const_cast<persistence_options&>(*opts_).snapshots;
}

void persistent_actor_base::recovery_completed(int64_t) {
  // nop
}

caf::behavior persistent_actor_base::make_behavior() {
  // The commands first: they may set the snapshot policy (`snapshots()`),
  // which the checks below cover.
  caf::behavior commands;
  caf::error err;
  try {
    commands = make_commands();
  } catch (...) {
    err = user_code_error("the command behavior (make_commands)",
                          std::current_exception());
  }
  if (opts_own_) {
    // The policy was set with the commands: actors that set an equal one
    // share it again (the idiom `self->snapshots().every_events(n)` would
    // otherwise give every actor its own copy of the options).
    opts_ = share_options(*opts_);
    opts_own_ = false;
  }
  if (!err)
    err = validate_actor_id(persistence_id_);
  if (!err)
    err = opts_->validate();
  if (!err)
    err = check_snapshot_setup();
  if (err) {
    // Requests already queued get this error (not CAF's generic
    // request_receiver_down): the actor stops once it answered them.
    stop_with(err);
    return {[](stop_atom) {
      // nop: consume() handles every message of a stopping actor
    }};
  }
  start_recovery();
  return commands;
}

caf::error persistent_actor_base::check_snapshot_setup() const {
  auto& policy = opts_->snapshots;
  if (codec().decode == nullptr && policy.enabled())
    return make_runtime_error(
      runtime_error::invalid_option,
      "actor \"" + persistence_id_
        + "\": snapshots: the policy takes snapshots but the state has no "
          "snapshot codec (describe it with BOOST_DESCRIBE_STRUCT or give it "
          "to_snapshot/from_snapshot)");
  if (auto want = policy.state_type(); want && *want != state_type_id())
    return make_runtime_error(
      runtime_error::invalid_option,
      "actor \"" + persistence_id_
        + "\": snapshots: a `when` rule of the policy reads a state of "
          "another type than this actor's (it would never fire)");
  return caf::none;
}

caf::error persistent_actor_base::user_code_error(const std::string& what,
                                                  std::exception_ptr ex) const {
  return make_user_code_error("actor \"" + persistence_id_ + "\": " + what,
                              std::move(ex));
}

caf::actor persistent_actor_base::worker() const {
  return ctx_->io->worker_for(persistence_id_);
}

void persistent_actor_base::log(const std::string& line) const {
  if (opts_->log)
    opts_->log(redact_credentials(line));
  else
    aether::log(log_level::warning, line, {{"actor_id", persistence_id_}});
}

void persistent_actor_base::reply_error(caf::mailbox_element& x,
                                        const caf::error& err) {
  if (!x.mid.is_request())
    return;
  if (auto& dest = x.sender)
    dest->enqueue(caf::make_mailbox_element(caf::strong_actor_ptr{ctrl()},
                                            x.mid.response_id(), {}, err),
                  context());
}

void persistent_actor_base::answer_waiting(const caf::error& err) {
  ctx_->metrics->commands_waiting -= static_cast<int64_t>(stash_.size());
  stash_.clear([&](caf::mailbox_element& x) {
    reply_error(x, err);
  });
  if (!flight_)
    return;
  auto& f = *flight_;
  if (f.persist_reply) {
    auto reply = std::move(f.persist_reply);
    f.persist_reply = nullptr;
    reply(err);
  }
  for (auto& p : f.pipeline)
    if (p.done) {
      auto reply = std::move(p.done);
      p.done = nullptr;
      reply(err);
    }
}

void persistent_actor_base::stop_with(const caf::error& err) {
  if (stop_reason_)
    return;
  log("\"" + persistence_id_ + "\" stops: " + describe(err));
  stop_reason_ = err;
  phase_ = actor_phase::stopping;
  answer_waiting(err);
  if (flight_)
    flight_->held_exit = nullptr;
  caf::anon_send(caf::actor_cast<caf::actor>(this), stop_atom::value);
}

void persistent_actor_base::on_exit() {
  // A recovery slot held or asked for goes to the next actor.
  if (ctx_->recoveries)
    ctx_->recoveries->release(id());
  if (ctx_->metrics) {
    auto reason = stop_reason_;
    if (!reason)
      reason = make_runtime_error(
        runtime_error::actor_stopped,
        "actor \"" + persistence_id_ + "\" stopped ("
          + (fail_state() ? caf::to_string(fail_state()) : "normal exit")
          + ") before it answered"
          + (flight_ && (flight_->persist_reply || !flight_->pipeline.empty())
               ? "; a persist was in flight: its events may or may not be "
                 "stored"
               : ""));
    answer_waiting(reason);
  }
  // A terminated actor may live on for a while (a pending delayed message
  // holds a reference to it); release the store, workers and bus now.
  flight_.reset();
  static const auto no_context = std::make_shared<const store_context>();
  ctx_ = no_context;
}

} // namespace aether
