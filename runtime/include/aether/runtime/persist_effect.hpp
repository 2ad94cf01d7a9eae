#pragma once

#include "aether/core/error.hpp"
#include "aether/runtime/command_context.hpp"

#include <caf/error.hpp>
#include <caf/typed_response_promise.hpp>
#include <functional>
#include <type_traits>
#include <utility>
#include <vector>

namespace aether {

/// What a typed command handler does with the events it persists: the
/// result of `event_sourced::persist(e...)`. End it with one of
///
/// - `then_reply(f)`: reply `f(state)` once the events are stored and
///   applied; returns a `caf::typed_response_promise<R>` for the handler to
///   return (a handler declared to answer another type does not compile);
/// - `then(f)`: run `f(state)` once they are stored and applied, reply
///   nothing (`void`);
/// - `then_stop()`: reply nothing once they are stored, then stop the actor
///   normally.
///
/// If the events cannot be stored the requester gets the store's error and
/// `f` does not run. An effect dropped without one of these is persisted
/// when it goes out of scope, and nobody gets its reply (`[[nodiscard]]`
/// warns).
///
/// One effect per handler: a second `persist` in the same handler is
/// refused with `runtime_error::persist_in_flight` (its events are not
/// stored; the refusal is logged, and it is the reply only if the first
/// effect did not take the request's reply). Put every event of a command
/// into one `persist(e1, e2, ...)`: they are stored as one atomic batch.
template <class Actor>
class [[nodiscard]] persist_effect {
public:
  using state_type = typename Actor::state_type;

  persist_effect(Actor* self, command_context cmd,
                 std::vector<event_draft> drafts, caf::error refused)
    : self_(self), cmd_(std::move(cmd)), drafts_(std::move(drafts)),
      refused_(std::move(refused)) {
    // nop
  }

  persist_effect(persist_effect&& other) noexcept
    : self_(std::exchange(other.self_, nullptr)), cmd_(std::move(other.cmd_)),
      drafts_(std::move(other.drafts_)), refused_(std::move(other.refused_)) {
    // nop
  }

  persist_effect(const persist_effect&) = delete;
  persist_effect& operator=(const persist_effect&) = delete;
  persist_effect& operator=(persist_effect&&) = delete;

  ~persist_effect() {
    if (self_ != nullptr)
      finish(
        caf::response_promise{}, [](const state_type&) {}, false);
  }

  /// Replies `f(state)` once the events are stored and applied (`f` may be
  /// a pointer to a member of the state: `then_reply(&account::balance)`).
  template <class F>
  auto then_reply(F f) && {
    using reply_type
      = std::decay_t<std::invoke_result_t<F&, const state_type&>>;
    static_assert(!std::is_void_v<reply_type>,
                  "then_reply: f must return the reply; use then(f) to reply "
                  "nothing");
    auto trp = self_->template make_response_promise<
      caf::typed_response_promise<reply_type>>();
    finish(trp, std::move(f), false);
    return trp;
  }

  /// Runs `f(state)` once the events are stored and applied; replies
  /// nothing.
  template <class F>
  caf::typed_response_promise<void> then(F f) && {
    static_assert(std::is_invocable_v<F&, const state_type&>,
                  "then: f must take the state (const State&)");
    auto trp
      = self_
          ->template make_response_promise<caf::typed_response_promise<void>>();
    finish(
      trp,
      [f{std::move(f)}](const state_type& s) mutable {
        std::invoke(f, s);
      },
      false);
    return trp;
  }

  /// Replies nothing once the events are stored, then stops the actor
  /// normally (commands behind it get `runtime_error::actor_stopped`).
  caf::typed_response_promise<void> then_stop() && {
    auto trp
      = self_
          ->template make_response_promise<caf::typed_response_promise<void>>();
    finish(
      trp, [](const state_type&) {}, true);
    return trp;
  }

private:
  template <class F>
  void finish(caf::response_promise rp, F f, bool stop) {
    auto* self = std::exchange(self_, nullptr);
    if (refused_) {
      // The request's reply usually belongs to the handler's first effect:
      // say it in the log too.
      self->log(describe(refused_));
      rp.deliver(std::move(refused_));
      return;
    }
    self->run_effect(std::move(rp), cmd_, std::move(drafts_), std::move(f),
                     stop);
  }

  Actor* self_;
  command_context cmd_;
  std::vector<event_draft> drafts_;
  caf::error refused_;
};

} // namespace aether
