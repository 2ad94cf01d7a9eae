#include "aether/http/http_options.hpp"

#include "aether/runtime/runtime_error.hpp"

#include <caf/actor_system_config.hpp>

namespace aether {

caf::expected<http_options>
http_options::from_config(const caf::actor_system_config& cfg) {
  http_options o;
  auto port = caf::get_or(cfg, "aether.http.port", int64_t{0});
  if (port < 0 || port > 65535)
    return make_runtime_error(runtime_error::invalid_option,
                              "aether.http.port: must be between 1 and 65535 "
                              "(is "
                                + std::to_string(port) + ")");
  o.enabled = port > 0;
  o.port = static_cast<uint16_t>(port);
  o.bind = caf::get_or(cfg, "aether.http.bind", o.bind);
  if (o.bind.empty())
    return make_runtime_error(runtime_error::invalid_option,
                              "aether.http.bind: must not be empty");
  return o;
}

} // namespace aether
