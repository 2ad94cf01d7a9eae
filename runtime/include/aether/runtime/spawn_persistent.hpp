#pragma once

#include "aether/runtime/event_sourced.hpp"

#include <caf/actor_system.hpp>
#include <caf/detail/type_list.hpp>
#include <caf/detail/type_traits.hpp>
#include <functional>
#include <string>
#include <utility>

namespace aether {

/// The actor `spawn_persistent` spawns: an `event_sourced` whose commands
/// come from a function.
template <class State, class Events, class Interface>
class event_sourced_fn final : public event_sourced<State, Events, Interface> {
public:
  using base = event_sourced<State, Events, Interface>;
  using commands_type = typename base::commands_type;
  using commands_fn = std::function<commands_type(base*)>;

  event_sourced_fn(caf::actor_config& cfg, commands_fn fun,
                   std::string persistence_id, store_context ctx,
                   persistence_options opts)
    : base(cfg, std::move(persistence_id), std::move(ctx), std::move(opts)),
      fun_(std::move(fun)) {
    // nop
  }

  commands_type commands() override {
    return fun_(this);
  }

private:
  commands_fn fun_;
};

namespace detail {

template <class T>
struct event_sourced_fn_of {
  static_assert(dependent_false<T>,
                "spawn_persistent: the function's parameter must be "
                "`aether::event_sourced<State, aether::events<...>>* self`");
};

template <class State, class Events, class Interface>
struct event_sourced_fn_of<event_sourced<State, Events, Interface>*> {
  using type = event_sourced_fn<State, Events, Interface>;
};

} // namespace detail

/// Spawns a typed persistent actor from a function, like CAF's
/// function-based actors: `fun(self)` returns the command behavior, where
/// `self` is an `aether::event_sourced<State, aether::events<...>>*` (or
/// with a typed interface, whose handle this then returns).
///
/// ```
/// caf::behavior counter(aether::event_sourced_ptr<count, added> self) {
///   self->snapshots().every_events(4);
///   return {[self](add_atom, int64_t n) {
///     return self->persist(added{n}).then_reply(&count::value);
///   }};
/// }
/// auto c = aether::spawn_persistent(sys, counter, "counter-1", ctx);
/// ```
template <class F>
auto spawn_persistent(caf::actor_system& sys, F fun, std::string persistence_id,
                      store_context ctx, persistence_options opts = {}) {
  using args = typename caf::detail::get_callable_trait<F>::arg_types;
  static_assert(caf::detail::tl_size<args>::value == 1,
                "spawn_persistent: the function takes one parameter (self)");
  using impl =
    typename detail::event_sourced_fn_of<caf::detail::tl_head_t<args>>::type;
  return sys.spawn<impl>(typename impl::commands_fn{std::move(fun)},
                         std::move(persistence_id), std::move(ctx),
                         std::move(opts));
}

} // namespace aether
