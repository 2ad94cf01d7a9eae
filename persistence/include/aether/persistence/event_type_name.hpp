#pragma once

#include <boost/describe/class.hpp>
#include <string_view>
#include <type_traits>

namespace aether {

namespace detail {

template <class T>
constexpr bool dependent_false = false;

template <class T, class = void>
struct has_member_event_type : std::false_type {};

template <class T>
struct has_member_event_type<T, std::void_t<decltype(T::event_type)>>
  : std::true_type {};

template <class T, class = void>
struct has_adl_event_type : std::false_type {};

template <class T>
struct has_adl_event_type<
  T, std::void_t<decltype(aether_event_type(static_cast<T*>(nullptr)))>>
  : std::true_type {};

template <class T>
constexpr std::string_view find_event_type() {
  if constexpr (has_member_event_type<T>::value) {
    return T::event_type;
  } else if constexpr (has_adl_event_type<T>::value) {
    return aether_event_type(static_cast<T*>(nullptr));
  } else {
    static_assert(dependent_false<T>,
                  "aether: this event type has no wire name: use "
                  "AETHER_EVENT(T, \"name\", (fields...)) next to it, or "
                  "declare `static constexpr const char* event_type = "
                  "\"...\";` in it");
    return {};
  }
}

} // namespace detail

/// The stable wire name of the typed event `T`, stored as the event's
/// `eventType` (never derived from the C++ type name, so renaming a struct
/// does not orphan its stored events). Found, in this order, as:
///
/// - a member `static constexpr const char* event_type = "deposited";`
/// - `AETHER_EVENT_TYPE(deposited, "deposited")` (or `AETHER_EVENT`, which
///   also describes the fields) in the struct's namespace;
/// - a specialization of this trait.
template <class T, class = void>
struct event_type_name {
  static constexpr std::string_view value = detail::find_event_type<T>();
};

/// The wire name of `T`.
template <class T>
constexpr std::string_view event_type_name_v = event_type_name<T>::value;

} // namespace aether

/// Gives the typed event `T` the wire name `name`; use it in `T`'s
/// namespace.
#define AETHER_EVENT_TYPE(T, name)                                             \
  [[maybe_unused]] constexpr std::string_view aether_event_type(T*) {          \
    return name;                                                               \
  }

/// Declares the typed event `T`: its wire name and its fields, e.g.
/// `AETHER_EVENT(deposited, "deposited", (amount))` (an event without
/// fields: `()`). Use it in `T`'s namespace, after the struct.
#define AETHER_EVENT(T, name, fields)                                          \
  BOOST_DESCRIBE_STRUCT(T, (), fields)                                         \
  AETHER_EVENT_TYPE(T, name)
