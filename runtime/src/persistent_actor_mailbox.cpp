#include "aether/runtime/persistent_actor_base.hpp"

// Stash management: which message runs now and which waits in the stash
// (every phase), held exits, and handing the stash to the behavior.

#include "persistent_actor_detail.hpp"

#include <algorithm>
#include <caf/mailbox_element.hpp>
#include <vector>

namespace aether {

using namespace detail;

bool persistent_actor_base::forget_own_request(uint64_t id) {
  auto i = std::find(own_requests_.begin(), own_requests_.end(), id);
  if (i == own_requests_.end())
    return false;
  *i = own_requests_.back();
  own_requests_.pop_back();
  if (own_requests_.empty())
    std::vector<uint64_t>{}.swap(own_requests_);
  return true;
}

caf::invoke_message_result
persistent_actor_base::consume(caf::mailbox_element& x) {
  auto result = consume_message(x);
  // Nothing refers to the bookkeeping between messages.
  release_flight();
  return result;
}

caf::invoke_message_result
persistent_actor_base::consume_message(caf::mailbox_element& x) {
  auto& msg = x.content();
  if (phase_ == actor_phase::stopping) {
    // Stopping: answer every request with the reason until the stop
    // message (queued behind them) arrives.
    if (msg.match_elements<stop_atom>()) {
      quit(stop_reason_);
    } else if (msg.match_elements<caf::exit_msg>()
               && msg.get_as<caf::exit_msg>(0).reason
                    == caf::exit_reason::kill) {
      quit(caf::exit_reason::kill);
    } else if (!x.mid.is_response()) {
      reply_error(x, stop_reason_);
    }
    return caf::invoke_message_result::consumed;
  }
  if (msg.match_elements<recovery_slot_atom>()) {
    if (phase_ == actor_phase::awaiting_recovery)
      begin_recovery();
    return caf::invoke_message_result::consumed;
  }
  if (msg.match_elements<restart_atom>()) {
    if (phase_ == actor_phase::restarting)
      start_recovery();
    return caf::invoke_message_result::consumed;
  }
  if (msg.match_elements<exit_timeout_atom, uint64_t>()) {
    if (has_held_exit() && msg.get_as<uint64_t>(1) == held_exit_id_)
      process_held_exit();
    return caf::invoke_message_result::consumed;
  }
  if (msg.match_elements<persist_timeout_atom>()) {
    auto pipelined = !pipeline_empty();
    if (on_persist_timer() && has_held_exit()
        && (!pipelined || pipeline_empty()))
      process_held_exit();
    drain();
    return caf::invoke_message_result::consumed;
  }
  if (msg.match_elements<persist_done_atom, uint64_t, io_job_ptr>()) {
    auto id = msg.get_as<uint64_t>(1);
    if (!pipeline_empty()) {
      pipelined_done(
        id, static_cast<async_append&>(*msg.get_as<io_job_ptr>(2)).take());
      if (has_held_exit() && pipeline_empty())
        process_held_exit();
      drain();
    } else if (id == pending_persist_id_ && flight_
               && flight_->pending_persist) {
      auto finish = std::move(flight_->pending_persist);
      flight_->pending_persist = nullptr;
      auto res = static_cast<async_append&>(*msg.get_as<io_job_ptr>(2)).take();
      if (res)
        finish(caf::none, res->position);
      else
        finish(res.error(), 0);
      if (has_held_exit())
        process_held_exit();
      drain();
    }
    return caf::invoke_message_result::consumed;
  }
  if (msg.match_elements<caf::exit_msg>()) {
    // Kill acts at once; any other exit waits for the store call in flight
    // (bounded by exit_timeout), so a persist is not cut off half-way.
    if (msg.get_as<caf::exit_msg>(0).reason != caf::exit_reason::kill
        && store_call_in_flight() && !has_held_exit()) {
      flight().held_exit = caf::make_mailbox_element(
        std::move(x.sender), x.mid, std::move(x.stages),
        x.move_content_to_message());
      held_exit_id_ += 1;
      delayed_send(this, opts_->exit_timeout, exit_timeout_atom::value,
                   held_exit_id_);
      return caf::invoke_message_result::consumed;
    }
    return caf::event_based_actor::consume(x);
  }
  if (x.mid.is_response() && forget_own_request(x.mid.integer_value())) {
    // The answer of one of this actor's own store calls. CAF 0.17 leaves a
    // request's timeout on the clock until it fires, even once answered (a
    // recovery left two entries for recovery_timeout, 30 s by default, and
    // then two stray messages that woke the idle actor): cancel it.
    system().clock().cancel_request_timeout(this, x.mid);
    ++dispatches_;
    auto result = caf::event_based_actor::consume(x);
    if (has_held_exit())
      process_held_exit();
    drain();
    return result;
  }
  if (!busy() && stash_.empty() && pipeline_empty()
      && is_passivate(x.content())) {
    auto* previous = current_mailbox_element();
    current_mailbox_element(&x);
    try_passivate(x);
    current_mailbox_element(previous);
    return caf::invoke_message_result::consumed;
  }
  if (busy() || !stash_.empty()) {
    // Commands, and responses to the command handlers' own requests (their
    // continuations read the state), wait until the state is complete.
    stash_.push_back(x);
    ctx_->metrics->commands_waiting += 1;
    // Not busy: the stash holds skipped messages; this one (the awaited
    // response, say) may be what they wait for.
    if (!busy())
      drain();
    return caf::invoke_message_result::consumed;
  }
  ++dispatches_;
  auto result = caf::event_based_actor::consume(x);
  drain();
  return result;
}

void persistent_actor_base::process_held_exit() {
  auto exit = std::move(flight_->held_exit);
  flight_->held_exit = nullptr;
  auto* previous = current_mailbox_element();
  current_mailbox_element(exit.get());
  caf::event_based_actor::consume(*exit);
  current_mailbox_element(previous);
}

void persistent_actor_base::drain() {
  if (draining_)
    return;
  draining_ = true;
  // Messages the behavior skipped (a handler awaiting a response, a skip
  // default handler) stay, in order, and get another chance after every
  // message that was consumed.
  // A vector: it allocates only when something is skipped (an empty
  // std::deque allocates about 600 bytes, and drain runs after every
  // message).
  std::vector<caf::mailbox_element_ptr> skipped;
  while (!busy() && !stash_.empty() && has_behavior()) {
    if (!pipeline_empty() && is_passivate(stash_.front().content()))
      break; // passivation waits until every persist is stored
    auto next = stash_.pop_front();
    auto* previous = current_mailbox_element();
    current_mailbox_element(next.get());
    if (try_passivate(*next)) {
      current_mailbox_element(previous);
      ctx_->metrics->commands_waiting -= 1;
      continue;
    }
    ++dispatches_;
    // It waits no more once the behavior has it (its reply may reach the
    // requester before `consume` returns); a skipped one waits again.
    ctx_->metrics->commands_waiting -= 1;
    auto res = caf::event_based_actor::consume(*next);
    current_mailbox_element(previous);
    if (res == caf::invoke_message_result::skipped) {
      ctx_->metrics->commands_waiting += 1;
      skipped.push_back(std::move(next));
      continue;
    }
    stash_.put_back(skipped);
  }
  stash_.put_back(skipped);
  draining_ = false;
}

} // namespace aether
