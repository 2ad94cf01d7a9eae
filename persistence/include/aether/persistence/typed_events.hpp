#pragma once

#include "aether/core/error.hpp"
#include "aether/persistence/define_event.hpp"
#include "aether/persistence/event.hpp"
#include "aether/persistence/event_type_name.hpp"
#include "aether/persistence/json_struct.hpp"

#include <array>
#include <caf/expected.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

namespace aether {

namespace detail {

/// "event 5 of "acc-1" (id ..., type "deposited")": names an event in errors.
std::string describe_event(const event& e);

template <size_t N>
constexpr bool distinct_names(const std::array<std::string_view, N>& names) {
  for (size_t i = 0; i < N; ++i)
    for (size_t j = i + 1; j < N; ++j)
      if (names[i] == names[j])
        return false;
  return true;
}

} // namespace detail

/// Decodes the payload of `e` as the typed event `T` (which the caller has
/// matched by `e.type`). A payload that does not fit fails with
/// `corrupt_data` naming the event (id, type, version) and the field.
template <class T>
caf::expected<T> decode_event_data(const event& e) {
  return from_json_struct<T>(e.data, detail::describe_event(e));
}

/// The typed events an actor persists: `aether::events<deposited,
/// withdrawn>`. Each has a distinct wire name (see `event_type_name`).
template <class... Ts>
struct events {
  static_assert(sizeof...(Ts) > 0, "aether::events: name at least one type");

  /// One event of the set.
  using variant = std::variant<Ts...>;

  /// True if `E` is one of the set's types.
  template <class E>
  static constexpr bool contains = (std::is_same_v<E, Ts> || ...);

  /// The wire names, in the order of the types.
  static constexpr std::array<std::string_view, sizeof...(Ts)> names{
    event_type_name_v<Ts>...};

  static_assert(detail::distinct_names(names),
                "aether::events: two event types share a wire name");

  /// The wire names, comma-separated (for messages).
  static std::string names_list() {
    std::string out;
    for (auto name : names) {
      if (!out.empty())
        out += ", ";
      out += name;
    }
    return out;
  }

  /// Decodes `e` into the set's type named by `e.type`: nothing if no type
  /// of the set has that name, `corrupt_data` if its payload does not fit.
  static caf::expected<std::optional<variant>> decode(const event& e) {
    caf::expected<std::optional<variant>> out{std::nullopt};
    (try_decode<Ts>(e, out) || ...);
    return out;
  }

  /// The payload of `x` (a JSON object).
  template <class E>
  static boost::json::value encode(const E& x) {
    static_assert(contains<E>, "aether::events: this type is not in the "
                               "actor's event set");
    return to_json_struct(x);
  }

private:
  template <class E>
  static bool
  try_decode(const event& e, caf::expected<std::optional<variant>>& out) {
    if (e.type != event_type_name_v<E>)
      return false;
    if (auto x = decode_event_data<E>(e))
      out
        = std::optional<variant>{variant{std::in_place_type<E>, std::move(*x)}};
    else
      out = std::move(x.error());
    return true;
  }
};

} // namespace aether
