#pragma once

#include "aether/core/error.hpp"
#include "aether/persistence/typed_events.hpp"
#include "aether/runtime/memory_size.hpp"
#include "aether/runtime/persist_effect.hpp"
#include "aether/runtime/persistent_actor_base.hpp"
#include "aether/snapshot/snapshot_codec.hpp"
#include "aether/snapshot/snapshot_policy.hpp"

#include <caf/actor.hpp>
#include <caf/behavior.hpp>
#include <caf/detail/type_list.hpp>
#include <caf/detail/type_traits.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_behavior.hpp>
#include <functional>
#include <memory>
#include <type_traits>
#include <typeindex>
#include <utility>
#include <variant>
#include <vector>

namespace aether {

namespace detail {

/// The behavior a typed actor's `commands()` returns for handle type `H`.
template <class H>
struct commands_of {
  using type = typename H::behavior_type;
};

template <>
struct commands_of<caf::actor> {
  using type = caf::behavior;
};

inline caf::behavior& unbox_commands(caf::behavior& x) {
  return x;
}

template <class... Sigs>
caf::behavior& unbox_commands(caf::typed_behavior<Sigs...>& x) {
  return x.unbox();
}

template <class State, class E, class = void>
struct can_apply : std::false_type {};

template <class State, class E>
struct can_apply<
  State, E,
  std::void_t<decltype(std::declval<State&>().apply(std::declval<const E&>()))>>
  : std::true_type {};

} // namespace detail

template <class State, class Events, class Interface = caf::actor>
class event_sourced;

/// A persistent actor with typed events and a typed state: no JSON in user
/// code.
///
/// - `State` is default-constructible and has `void apply(const E&)` for
///   every event type `E` of `Events` (a missing one does not compile).
///   Snapshots: see `snapshot_codec` (derived when `State` is described).
/// - `Events` is `aether::events<E1, E2, ...>`: plain structs described with
///   `BOOST_DESCRIBE_STRUCT`, each with a wire name (`event_type_name`).
/// - `Interface` is the handle: `caf::actor` (the default), or a
///   `caf::typed_actor<...>` whose signatures `commands()` must implement
///   (checked by the compiler; `spawn` returns that handle).
///
/// ```
/// class counter_actor
///   : public aether::event_sourced<counter, aether::events<added>> {
/// public:
///   using event_sourced::event_sourced;
///   caf::behavior commands() override {
///     return {[this](add_atom, int64_t n) {
///       return persist(added{n}).then_reply(
///         [](const counter& c) { return c.value; });
///     }};
///   }
/// };
/// ```
///
/// The wire format is the untyped event model's: an actor written with
/// `persistent_actor` recovers the same events, and the other way round.
template <class State, class... Ts, class Interface>
class event_sourced<State, events<Ts...>, Interface>
  : public persistent_actor_base {
public:
  using state_type = State;
  using event_set = events<Ts...>;
  /// One event of the actor's set.
  using event_type = typename event_set::variant;
  using handle_type = Interface;
  using commands_type = typename detail::commands_of<Interface>::type;
  /// Makes `spawn` return `handle_type`.
  using behavior_type = commands_type;

  static_assert(std::is_default_constructible_v<State>,
                "event_sourced: the state must be default-constructible");
  static_assert((detail::can_apply<State, Ts>::value && ...),
                "event_sourced: the state has no apply(const E&) for one of "
                "the event types E of the set");

  event_sourced(caf::actor_config& cfg, std::string persistence_id,
                store_context ctx, persistence_options opts = {})
    : persistent_actor_base(cfg, std::move(persistence_id), std::move(ctx),
                            std::move(opts)) {
    // nop
  }

  /// The command handlers (`caf::behavior`, or the typed behavior of
  /// `Interface`). They see the recovered state.
  virtual commands_type commands() = 0;

  /// The state after the last applied event.
  const State& state() const {
    return state_;
  }

  /// Persists `e...` as one atomic batch (the next versions, in order) and
  /// returns the effect that says what happens once they are stored. One
  /// persist per handler: a second one in the same handler fails with
  /// `runtime_error::persist_in_flight` (pass every event to one call).
  template <
    class E, class... Es,
    class = std::enable_if_t<!std::is_same_v<std::decay_t<E>, command_context>>>
  persist_effect<event_sourced> persist(E&& e, Es&&... es) {
    return persist(command_context{}, std::forward<E>(e),
                   std::forward<Es>(es)...);
  }

  /// Like `persist(e...)`, with the command id and metadata of `cmd`.
  template <class... Es>
  persist_effect<event_sourced>
  persist(const command_context& cmd, Es&&... es) {
    static_assert(sizeof...(Es) > 0, "persist: name at least one event");
    static_assert((event_set::template contains<std::decay_t<Es>> && ...),
                  "persist: an event is not in the actor's event set");
    std::vector<event_draft> drafts;
    drafts.reserve(sizeof...(Es));
    (drafts.push_back(
       event_draft{std::string{event_type_name_v<std::decay_t<Es>>},
                   event_set::encode(static_cast<const std::decay_t<Es>&>(es)),
                   {}}),
     ...);
    caf::error refused;
    if (effect_made_ && effect_dispatch_ == dispatch_count())
      refused = make_runtime_error(
        runtime_error::persist_in_flight,
        "actor \"" + persistence_id()
          + "\": one persist per command handler: pass every event of the "
            "command to one persist(e1, e2, ...)");
    effect_made_ = true;
    effect_dispatch_ = dispatch_count();
    return {this, cmd, std::move(drafts), std::move(refused)};
  }

  /// A snapshot rule over the typed state and one typed event:
  /// `f(const State&, const E&, int64_t version) -> bool`, checked after
  /// every stored event of type `E`. A predicate on another state type or an
  /// event outside the set does not compile.
  template <class F>
  static snapshot_policy snapshot_when(F f) {
    using args = typename caf::detail::get_callable_trait<F>::arg_types;
    static_assert(caf::detail::tl_size<args>::value == 3,
                  "snapshot_when: f takes (const State&, const Event&, "
                  "int64_t version)");
    using state_arg = std::decay_t<caf::detail::tl_at_t<args, 0>>;
    using event_arg = std::decay_t<caf::detail::tl_at_t<args, 1>>;
    static_assert(std::is_same_v<state_arg, State>,
                  "snapshot_when: the predicate's first parameter must be "
                  "the actor's state type");
    static_assert(event_set::template contains<event_arg>,
                  "snapshot_when: the predicate's second parameter must be "
                  "one of the actor's event types");
    snapshot_policy policy;
    policy.when_state(typeid(State), [f](const snapshot_check& c) {
      auto* s = c.state_as<State>();
      if (s == nullptr || c.ev.type != event_type_name_v<event_arg>)
        return false;
      auto x = decode_event_data<event_arg>(c.ev);
      return x && f(*s, *x, c.version);
    });
    return policy;
  }

protected:
  /// Handles a stored event whose type is not in the set. The default fails
  /// (recovery stops with `corrupt_data` naming the event); return
  /// `caf::none` to skip it, or fold it into `mutable_state()` first.
  virtual caf::error on_unknown_event(const event& e) {
    return make_persistence_error(
      persistence_error::corrupt_data,
      detail::describe_event(e) + ": not one of the actor's event types ("
        + event_set::names_list()
        + "); override on_unknown_event to skip or fold it");
  }

  /// The state, for `on_unknown_event`.
  State& mutable_state() {
    return state_;
  }

  const state_codec& codec() const override {
    if constexpr (snapshot_codec<State>::enabled) {
      static const state_codec with{
        []() -> std::unique_ptr<state_box> {
          return std::make_unique<box>();
        },
        [](state_box& b, const boost::json::value& json) {
          return snapshot_codec<State>::decode(json,
                                               static_cast<box&>(b).value);
        },
      };
      return with;
    } else {
      static const state_codec without{nullptr, nullptr};
      return without;
    }
  }

  void adopt_state(state_box& b) override {
    state_ = std::move(static_cast<box&>(b).value);
  }

  void reset_state() override {
    state_ = State{};
  }

  caf::error apply_event(const event& e) override {
    auto decoded = event_set::decode(e);
    if (!decoded)
      return std::move(decoded.error());
    if (!*decoded)
      return on_unknown_event(e);
    fold(state_, **decoded);
    return caf::none;
  }

  boost::json::value encode_state() const override {
    if constexpr (snapshot_codec<State>::enabled)
      return snapshot_codec<State>::encode(state_);
    else
      return boost::json::value{};
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
  template <class>
  friend class persist_effect;

  caf::behavior make_commands() final {
    auto x = commands();
    return std::move(detail::unbox_commands(x));
  }

  static void fold(State& state, const event_type& e) {
    std::visit(
      [&state](const auto& x) {
        state.apply(x);
      },
      e);
  }

  template <class F>
  void run_effect(caf::response_promise rp, const command_context& cmd,
                  std::vector<event_draft> drafts, F f, bool stop) {
    persist_into(
      std::move(rp), cmd, std::move(drafts),
      [this, f{std::move(f)}]() mutable {
        return std::invoke(f, state_);
      },
      stop);
  }

  struct box : state_box {
    State value;
  };

  State state_;
  uint64_t effect_dispatch_ = 0;
  bool effect_made_ = false;
};

/// The `self` of a function-based typed actor (see `spawn_persistent`):
/// `event_sourced_ptr<counter, added>` is
/// `event_sourced<counter, events<added>>*`, as CAF's function-based actors
/// take a `stateful_actor<State>*`.
template <class State, class... Ts>
using event_sourced_ptr = event_sourced<State, events<Ts...>>*;

} // namespace aether
