#include "aether/persistence/json_struct.hpp"

namespace aether::detail {

std::string json_kind(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null: return "null";
    case boost::json::kind::bool_: return "a boolean";
    case boost::json::kind::int64:
    case boost::json::kind::uint64: return "an integer";
    case boost::json::kind::double_: return "a floating-point number";
    case boost::json::kind::string: return "a string";
    case boost::json::kind::array: return "an array";
    case boost::json::kind::object: return "an object";
  }
  return "an unknown value";
}

std::string field_problem(const std::string& path, const std::string& what,
                          const boost::json::value* got) {
  auto out = "field \"" + path + "\": " + what;
  if (got != nullptr)
    out += " (got " + json_kind(*got) + ")";
  return out;
}

} // namespace aether::detail
