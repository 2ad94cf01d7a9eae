#pragma once

#include "aether/persistence/json_struct.hpp"

#include <boost/describe/members.hpp>
#include <boost/json/value.hpp>
#include <caf/error.hpp>
#include <type_traits>
#include <utility>

namespace aether {

namespace detail {

template <class S, class = void>
struct has_snapshot_members : std::false_type {};

template <class S>
struct has_snapshot_members<
  S, std::void_t<decltype(std::declval<const S&>().to_snapshot()),
                 decltype(std::declval<S&>().from_snapshot(
                   std::declval<const boost::json::value&>()))>>
  : std::true_type {};

} // namespace detail

/// How a typed actor's state becomes a snapshot and back.
///
/// - Hand-written: the state has `boost::json::value to_snapshot() const`
///   and `caf::error from_snapshot(const boost::json::value&)`.
/// - Derived: the state is described (`BOOST_DESCRIBE_STRUCT`); a snapshot
///   that does not fit fails with `corrupt_data` naming the field (recovery
///   then falls back to an older snapshot).
/// - None: the actor never takes or loads snapshots, and refuses a snapshot
///   policy when it starts.
///
/// Specialize it for a state that needs something else.
template <class State>
struct snapshot_codec {
  static constexpr bool hand_written
    = detail::has_snapshot_members<State>::value;
  static constexpr bool described
    = boost::describe::has_describe_members<State>::value;
  static constexpr bool enabled = hand_written || described;

  static boost::json::value encode(const State& state) {
    if constexpr (hand_written)
      return state.to_snapshot();
    else
      return to_json_struct(state);
  }

  static caf::error decode(const boost::json::value& json, State& state) {
    if constexpr (hand_written) {
      return state.from_snapshot(json);
    } else {
      auto res = from_json_struct<State>(json, "snapshot");
      if (!res)
        return std::move(res.error());
      state = std::move(*res);
      return caf::none;
    }
  }
};

} // namespace aether
