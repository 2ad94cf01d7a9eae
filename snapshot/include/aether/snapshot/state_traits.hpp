#pragma once

#include "aether/persistence/event.hpp"

#include <boost/json/value.hpp>
#include <caf/error.hpp>

namespace aether {

/// How aether folds events into a state and encodes it for snapshots.
///
/// The default uses three members of `State` (which must be
/// default-constructible):
///
/// ```
/// void apply(const aether::event& e);                   // state + event
/// boost::json::value to_snapshot() const;               // state -> JSON
/// caf::error from_snapshot(const boost::json::value&);  // JSON -> state
/// ```
///
/// Specialize `state_traits<State>` to adapt a type without these members.
template <class State>
struct state_traits {
  static void apply(State& state, const event& e) {
    state.apply(e);
  }

  static boost::json::value to_snapshot(const State& state) {
    return state.to_snapshot();
  }

  static caf::error from_snapshot(const boost::json::value& json,
                                  State& state) {
    return state.from_snapshot(json);
  }
};

} // namespace aether
