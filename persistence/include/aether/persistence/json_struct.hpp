#pragma once

#include "aether/core/error.hpp"

#include <boost/describe/members.hpp>
#include <boost/describe/modifiers.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_from.hpp>
#include <boost/json/value_to.hpp>
#include <boost/mp11/algorithm.hpp>
#include <caf/expected.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace aether {

/// Maps plain C++ structs to JSON objects and back: the route of typed
/// events and typed snapshot states.
///
/// A struct described with Boost.Describe (`BOOST_DESCRIBE_STRUCT`) becomes
/// an object with one member per described field. Reading it back names the
/// field that does not fit (nested described structs give a dotted path);
/// a missing `std::optional` field reads as empty and unknown fields are
/// ignored, so events written before a field was added still read. Any
/// other type goes through Boost.JSON's `value_from` / `try_value_to` (a
/// `tag_invoke` of its own, for example).

namespace detail {

template <class T>
struct is_std_optional : std::false_type {};

template <class T>
struct is_std_optional<std::optional<T>> : std::true_type {};

/// "a string", "an integer", ...: what a JSON value is, for error messages.
std::string json_kind(const boost::json::value& v);

/// `field "path": what (got <kind>)`.
std::string field_problem(const std::string& path, const std::string& what,
                          const boost::json::value* got);

/// Reads `v` into `out`; on failure returns false and sets `problem` to a
/// text naming the field `path` (empty at the top level).
template <class T>
bool read_json(const boost::json::value& v, T& out, const std::string& path,
               std::string& problem) {
  if constexpr (boost::describe::has_describe_members<T>::value) {
    auto* obj = v.if_object();
    if (obj == nullptr) {
      problem = path.empty()
                  ? "expected a JSON object, got " + json_kind(v)
                  : field_problem(path, "expected a JSON object", &v);
      return false;
    }
    bool ok = true;
    using members = boost::describe::describe_members<
      T, boost::describe::mod_public | boost::describe::mod_inherited>;
    boost::mp11::mp_for_each<members>([&](auto d) {
      if (!ok)
        return;
      using member = std::remove_reference_t<decltype(out.*d.pointer)>;
      auto name = path.empty() ? std::string{d.name}
                               : path + "." + std::string{d.name};
      auto* field = obj->if_contains(d.name);
      if (field == nullptr) {
        if constexpr (is_std_optional<member>::value) {
          out.*d.pointer = std::nullopt;
        } else {
          problem = field_problem(name, "missing", nullptr);
          ok = false;
        }
        return;
      }
      ok = read_json(*field, out.*d.pointer, name, problem);
    });
    return ok;
  } else {
    auto res = boost::json::try_value_to<T>(v);
    if (!res) {
      problem = path.empty()
                  ? res.error().message() + " (got " + json_kind(v) + ")"
                  : field_problem(path, res.error().message(), &v);
      return false;
    }
    out = std::move(*res);
    return true;
  }
}

} // namespace detail

/// Encodes `x` (a described struct, or any type Boost.JSON converts).
template <class T>
boost::json::value to_json_struct(const T& x) {
  return boost::json::value_from(x);
}

/// Decodes a `T` from `v`; a value that does not fit fails with
/// `corrupt_data`: "`what`: field "amount": ... (got a string)".
template <class T>
caf::expected<T>
from_json_struct(const boost::json::value& v, const std::string& what) {
  static_assert(std::is_default_constructible_v<T>,
                "aether: a type read from JSON must be default-constructible");
  T out{};
  std::string problem;
  if (!detail::read_json(v, out, std::string{}, problem))
    return make_persistence_error(persistence_error::corrupt_data,
                                  what + ": " + problem);
  return out;
}

} // namespace aether
