#include "batch_body.hpp"

#include "aether/core/error.hpp"
#include "aether/persistence/json_codec.hpp"

namespace aether::detail {

std::string decode_batch(std::string_view body, std::vector<event>& out) {
  if (body.empty() || body.front() != '[') {
    auto e = json_codec::decode_event(body);
    if (!e)
      return describe(e.error());
    out.push_back(std::move(*e));
    return {};
  }
  auto v = json_codec::parse(body);
  if (!v)
    return describe(v.error());
  if (!v->is_array())
    return "batch is not a JSON array";
  for (auto& x : v->get_array()) {
    auto e = json_codec::event_from_json(x);
    if (!e)
      return describe(e.error());
    out.push_back(std::move(*e));
  }
  return {};
}

} // namespace aether::detail
