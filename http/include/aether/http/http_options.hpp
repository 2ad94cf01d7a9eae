#pragma once

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <cstdint>
#include <string>

namespace aether {

/// Where a node serves `/metrics`, `/healthz` and `/readyz`. Opt-in: off
/// unless `aether.http.port` is set.
struct http_options {
  /// Serve at all.
  bool enabled = false;
  /// The port; 0 picks a free one (tests).
  uint16_t port = 0;
  /// The address to bind; loopback unless set otherwise.
  std::string bind = "127.0.0.1";

  /// Reads `aether.http.port` (1..65535; enables the endpoints) and
  /// `aether.http.bind` (declared by `aether::config`); fails with
  /// `invalid_option` naming the option.
  static caf::expected<http_options>
  from_config(const caf::actor_system_config& cfg);
};

} // namespace aether
