#pragma once

#include "aether/runtime/memory_size.hpp"
#include "aether/runtime/persistent_actor_base.hpp"
#include "aether/snapshot/state_traits.hpp"

#include <memory>
#include <typeindex>

namespace aether {

/// A CAF event-based actor whose state is the fold of its stored events.
///
/// `State` is default-constructible and has the members `state_traits`
/// names: `apply(const event&)`, `to_snapshot()`, `from_snapshot(json)`.
/// Derive, implement `make_commands()`, and spawn like any CAF actor:
///
/// ```
/// class account_actor : public aether::persistent_actor<account> {
/// public:
///   using persistent_actor::persistent_actor;
///   caf::behavior make_commands() override {
///     return {
///       [this](deposit_atom, int64_t amount) -> caf::result<int64_t> {
///         return persist("deposited", {{"amount", amount}},
///                        [this] { return state().balance; });
///       },
///       [this](balance_atom) { return state().balance; },
///     };
///   }
/// };
/// auto acc = sys.spawn<account_actor>("account-1", ctx, opts);
/// ```
template <class State>
class persistent_actor : public persistent_actor_base {
public:
  using persistent_actor_base::persistent_actor_base;

  /// The state after the last applied event.
  const State& state() const {
    return state_;
  }

protected:
  const state_codec& codec() const override {
    static const state_codec instance{
      []() -> std::unique_ptr<state_box> {
        return std::make_unique<box>();
      },
      [](state_box& b, const boost::json::value& json) {
        return state_traits<State>::from_snapshot(json,
                                                  static_cast<box&>(b).value);
      },
    };
    return instance;
  }

  void adopt_state(state_box& b) override {
    state_ = std::move(static_cast<box&>(b).value);
  }

  void reset_state() override {
    state_ = State{};
  }

  caf::error apply_event(const event& e) override {
    state_traits<State>::apply(state_, e);
    return caf::none;
  }

  boost::json::value encode_state() const override {
    return state_traits<State>::to_snapshot(state_);
  }

  const void* state_address() const override {
    return &state_;
  }

  std::type_index state_type_id() const override {
    return typeid(State);
  }

  std::optional<uint64_t> state_memory_size() const override {
    if constexpr (detail::has_memory_size<State>::value)
      return static_cast<uint64_t>(state_.memory_size());
    else
      return std::nullopt;
  }

private:
  struct box : state_box {
    State value;
  };

  State state_;
};

} // namespace aether
