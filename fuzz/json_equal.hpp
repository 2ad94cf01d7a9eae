#pragma once
// Equality of decoded JSON values for the round-trip oracles. Doubles may
// differ in the last place: Boost.JSON 1.81 does not parse every long
// decimal to the correctly rounded double (1.83 added precise parsing), so a
// double re-read from our own encoding can be one ulp off. Everything else
// (integers, strings, structure) must be identical.
#include <boost/json/value.hpp>
#include <cmath>

inline bool json_equal(const boost::json::value& x,
                       const boost::json::value& y) {
  if (x.is_double() && y.is_double()) {
    auto a = x.get_double();
    auto b = y.get_double();
    return a == b
           || std::fabs(a - b) <= 1e-15 * std::fmax(std::fabs(a), std::fabs(b));
  }
  if (x.kind() != y.kind())
    return false;
  if (x.is_array()) {
    auto& a = x.get_array();
    auto& b = y.get_array();
    if (a.size() != b.size())
      return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (!json_equal(a[i], b[i]))
        return false;
    return true;
  }
  if (x.is_object()) {
    auto& a = x.get_object();
    auto& b = y.get_object();
    if (a.size() != b.size())
      return false;
    for (auto& kv : a) {
      auto* other = b.if_contains(kv.key());
      if (!other || !json_equal(kv.value(), *other))
        return false;
    }
    return true;
  }
  return x == y;
}
