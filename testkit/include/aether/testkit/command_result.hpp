#pragma once

#include "aether/persistence/event.hpp"

#include <caf/expected.hpp>
#include <caf/unit.hpp>
#include <cstddef>
#include <type_traits>
#include <variant>
#include <vector>

namespace aether::testkit {

/// What one command did (see `behavior_testkit::run`).
template <class State, class Event, class Reply>
struct command_result {
  /// `caf::unit_t` for a command that replies nothing.
  using reply_type
    = std::conditional_t<std::is_void_v<Reply>, caf::unit_t, Reply>;

  /// The events the command stored, typed, in version order.
  std::vector<Event> events;
  /// The same events as stored (ids, versions, metadata, wire data).
  std::vector<event> stored;
  /// The actor's state after the command.
  State state;
  /// The reply, or the error the actor answered with. An actor that did
  /// not answer (yet) gives `caf::sec::request_timeout`.
  caf::expected<reply_type> reply = caf::error{};

  /// The `i`-th event, which must be an `E` (throws
  /// `std::bad_variant_access` if it is another type).
  template <class E>
  const E& event_at(size_t i) const {
    return std::get<E>(events.at(i));
  }
};

/// What a restart recovered (see `behavior_testkit::restart`).
template <class State>
struct restart_result {
  /// The state after recovery.
  State state;
  /// The version recovery reached.
  int64_t version = 0;
  /// The snapshot version recovery started from (0: none).
  int64_t from_snapshot = 0;
  /// Events replayed after the snapshot.
  int64_t events_replayed = 0;
};

} // namespace aether::testkit
