#pragma once

#include "aether/core/error.hpp"
#include "aether/runtime/spawn_persistent.hpp"
#include "aether/snapshot/snapshot_codec.hpp"
#include "aether/testkit/behavior_testkit_base.hpp"
#include "aether/testkit/check_failed.hpp"
#include "aether/testkit/command_result.hpp"

#include <boost/json/serialize.hpp>
#include <caf/actor_cast.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/sec.hpp>
#include <caf/send.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

namespace aether::testkit {

namespace detail {

template <class T, class = void>
struct equality_comparable : std::false_type {};

template <class T>
struct equality_comparable<
  T,
  std::void_t<decltype(std::declval<const T&>() == std::declval<const T&>())>>
  : std::true_type {};

} // namespace detail

/// Unit tests for one typed persistent actor (`aether::event_sourced`), on
/// CAF's deterministic test coordinator: send a command, get back the
/// events it stored, the state after it and the reply.
///
/// ```
/// aether::testkit::behavior_testkit<account_actor> kit{"acc-1"};
/// auto r = kit.run<int64_t>(deposit_atom::value, int64_t{50});
/// // r.events: {deposited{50}}, r.state.balance: 50, *r.reply: 50
/// auto back = kit.restart(); // recovers from the store
/// ```
///
/// The actor starts at its first command (or `state`, `restart`), after the
/// seeded history (`seed_events`, `seed_snapshot`). Its store is a
/// `failing_store` (see `store()`) over a fresh memory store or the one in
/// the options. Everything runs on the calling thread, in a fixed order.
///
/// After every command the kit checks that each stored event and the
/// state's snapshot round-trip through JSON, and throws `check_failed`
/// naming the event or the state when one does not (see `testkit_options`).
template <class Actor>
class behavior_testkit : public behavior_testkit_base {
public:
  using state_type = typename Actor::state_type;
  using event_type = typename Actor::event_type;
  using event_set = typename Actor::event_set;
  using handle_type = typename Actor::handle_type;
  using spawn_fn
    = std::function<handle_type(caf::actor_system&, const std::string&,
                                store_context, const persistence_options&)>;

  /// A kit for a class-based actor, spawned as
  /// `Actor(cfg, persistence_id, ctx, opts.persistence)`.
  explicit behavior_testkit(std::string persistence_id,
                            testkit_options opts = {})
    : behavior_testkit(std::move(persistence_id), std::move(opts),
                       [](caf::actor_system& sys, const std::string& id,
                          store_context ctx, const persistence_options& popts) {
                         return sys.spawn<Actor>(id, std::move(ctx), popts);
                       }) {
    // nop
  }

  /// A kit whose actor `spawn` starts (see `make_behavior_testkit` for
  /// function-based actors).
  behavior_testkit(std::string persistence_id, testkit_options opts,
                   spawn_fn spawn)
    : behavior_testkit_base(std::move(persistence_id), std::move(opts)),
      spawn_(std::move(spawn)) {
    // nop
  }

  ~behavior_testkit() {
    stop();
  }

  /// Sends one command and runs the system until it settled. `Reply` is
  /// the type the command answers with (`void` for none).
  template <class Reply = void, class... Ts>
  command_result<state_type, event_type, Reply> run(Ts&&... xs) {
    using result_type = command_result<state_type, event_type, Reply>;
    using reply_type = typename result_type::reply_type;
    start(true);
    auto before = latest_version();
    auto answer = std::make_shared<std::optional<caf::expected<reply_type>>>();
    auto hdl = handle_;
    system().spawn([answer, hdl,
                    msg = std::make_tuple(std::decay_t<Ts>(
                      std::forward<Ts>(xs))...)](caf::event_based_actor* self) {
      std::apply(
        [&](auto&... args) {
          auto on_error = [answer](caf::error& err) {
            *answer = caf::expected<reply_type>{std::move(err)};
          };
          if constexpr (std::is_void_v<Reply>)
            self->request(hdl, caf::infinite, args...)
              .then(
                [answer]() {
                  *answer = caf::expected<reply_type>{caf::unit};
                },
                on_error);
          else
            self->request(hdl, caf::infinite, args...)
              .then(
                [answer](Reply& x) {
                  *answer = caf::expected<reply_type>{std::move(x)};
                },
                on_error);
        },
        msg);
    });
    behavior_testkit_base::run();
    result_type res;
    if (*answer)
      res.reply = std::move(**answer);
    else
      res.reply = caf::make_error(caf::sec::request_timeout,
                                  "the actor has not answered (yet)");
    res.stored = stored_events(before + 1);
    res.events = decode_all(res.stored);
    res.state = state_now();
    if (options().check_round_trip) {
      check_wire_round_trip(res.stored);
      check_event_round_trip(res.stored);
      check_state_round_trip(res.state);
    }
    return res;
  }

  /// The actor's state now (starting the actor before its first command;
  /// a stopped actor's last state).
  state_type state() {
    start(false);
    return state_now();
  }

  /// Every event of the actor the store holds, typed.
  std::vector<event_type> events() {
    return decode_all(stored_events());
  }

  /// Stops the actor and starts it again: it recovers from the store (its
  /// latest snapshot and the events after it).
  ///
  /// A recovery that fails leaves the actor stopped: `stopped()` says why.
  restart_result<state_type> restart() {
    stop();
    start(true);
    auto* a = current();
    restart_result<state_type> res;
    res.state = a->state();
    res.version = a->version();
    res.from_snapshot = a->recovered_from_snapshot();
    res.events_replayed = a->events_replayed();
    return res;
  }

  /// Stores `evs` as the actor's next events, as if it had persisted them
  /// (before it starts; a running actor sees them after `restart`).
  void seed_events(std::vector<event_type> evs) {
    std::vector<event> out;
    out.reserve(evs.size());
    for (auto& x : evs)
      out.push_back(std::visit(
        [this](const auto& e) {
          using E = std::decay_t<decltype(e)>;
          return make_event(std::string{event_type_name_v<E>}, persistence_id(),
                            0, event_set::encode(e));
        },
        x));
    seed(std::move(out));
  }

  /// Stores `s` as a snapshot at the latest seeded version: the actor
  /// recovers from it and the events after it. Needs at least one event
  /// before it.
  void seed_snapshot(const state_type& s) {
    static_assert(snapshot_codec<state_type>::enabled,
                  "seed_snapshot: the state has no snapshot codec (describe "
                  "it with BOOST_DESCRIBE_STRUCT or give it "
                  "to_snapshot/from_snapshot)");
    behavior_testkit_base::seed_snapshot(snapshot_codec<state_type>::encode(s));
  }

  /// The actor's handle (starting the actor before its first command).
  handle_type handle() {
    start(false);
    return handle_;
  }

  /// The actor (running or stopped), for its counters (`version()`,
  /// `phase()`, ...). Read it between kit calls only.
  Actor* actor() {
    start(false);
    return current();
  }

private:
  /// Starts the actor if it never ran or, with `again`, if it stopped: only
  /// a command or a restart starts a stopped actor again.
  void start(bool again) {
    if (handle_ && (!again || !stopped()))
      return;
    handle_ = spawn_(system(), persistence_id(), context(),
                     options().persistence);
    watch(caf::actor_cast<caf::actor>(handle_));
    behavior_testkit_base::run();
  }

  void stop() {
    if (!handle_)
      return;
    caf::anon_send_exit(handle_, caf::exit_reason::user_shutdown);
    behavior_testkit_base::run();
    handle_ = handle_type{};
  }

  Actor* current() {
    return dynamic_cast<Actor*>(caf::actor_cast<caf::abstract_actor*>(handle_));
  }

  state_type state_now() {
    auto* a = current();
    return a ? a->state() : state_type{};
  }

  std::vector<event_type> decode_all(const std::vector<event>& evs) {
    std::vector<event_type> out;
    out.reserve(evs.size());
    for (auto& e : evs) {
      auto x = event_set::decode(e);
      if (!x)
        throw check_failed("event " + std::to_string(e.version) + " (" + e.type
                           + ") does not decode: " + describe(x.error()));
      if (!*x)
        throw check_failed("event " + std::to_string(e.version) + " (" + e.type
                           + ") is not in the actor's event set ("
                           + event_set::names_list() + ")");
      out.push_back(std::move(**x));
    }
    return out;
  }

  /// Each event's data, decoded and encoded again, is what was stored.
  static void check_event_round_trip(const std::vector<event>& evs) {
    for (auto& e : evs) {
      auto x = event_set::decode(e);
      if (!x || !*x)
        continue; // decode_all reported it
      auto again = std::visit(
        [](const auto& y) {
          return event_set::encode(y);
        },
        **x);
      if (again != e.data)
        throw check_failed(
          "event " + std::to_string(e.version) + " (" + e.type
          + ") changes through JSON: stored " + boost::json::serialize(e.data)
          + ", decoded and encoded again " + boost::json::serialize(again));
    }
  }

  /// The state's snapshot decodes to a state that encodes the same (and
  /// equals it, if the state has ==).
  static void check_state_round_trip(const state_type& s) {
    if constexpr (snapshot_codec<state_type>::enabled) {
      auto json = snapshot_codec<state_type>::encode(s);
      state_type back{};
      if (auto err = snapshot_codec<state_type>::decode(json, back))
        throw check_failed("the state's snapshot does not decode: "
                           + describe(err)
                           + "; JSON: " + boost::json::serialize(json));
      auto again = snapshot_codec<state_type>::encode(back);
      if (again != json)
        throw check_failed("the state changes through its snapshot: "
                           + boost::json::serialize(json)
                           + " decodes to a state that encodes as "
                           + boost::json::serialize(again));
      if constexpr (detail::equality_comparable<state_type>::value)
        if (!(back == s))
          throw check_failed("the state changes through its snapshot: the "
                             "decoded state is not == to the state (a field "
                             "missing from the snapshot?); JSON: "
                             + boost::json::serialize(json));
    }
  }

  spawn_fn spawn_;
  handle_type handle_;
};

/// A kit for a function-based actor (see `spawn_persistent`):
///
/// ```
/// auto kit = aether::testkit::make_behavior_testkit(counter_actor, "c-1");
/// ```
///
/// The kit is returned by value (C++17 guaranteed elision; it cannot move).
template <class F>
auto make_behavior_testkit(F fun, std::string persistence_id,
                           testkit_options opts = {}) {
  using args = typename caf::detail::get_callable_trait<F>::arg_types;
  using actor_type = typename aether::detail::event_sourced_fn_of<
    caf::detail::tl_head_t<args>>::type;
  return behavior_testkit<actor_type>(
    std::move(persistence_id), std::move(opts),
    [fun](caf::actor_system& sys, const std::string& id, store_context ctx,
          const persistence_options& popts) {
      return spawn_persistent(sys, fun, id, std::move(ctx), popts);
    });
}

} // namespace aether::testkit
