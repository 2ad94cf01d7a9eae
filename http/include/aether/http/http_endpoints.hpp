#pragma once

#include "aether/core/log.hpp"
#include "aether/http/http_options.hpp"

#include <caf/expected.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace aether {

/// Prometheus text (exposition format 0.0.4) of one part of the node, e.g.
/// `store_context::prometheus`, `actor_registry::prometheus`,
/// `cluster::prometheus`. Called on the HTTP server's threads: it must be
/// thread-safe (the runtime's metrics are atomics).
using metrics_source = std::function<std::string()>;

/// One readiness condition: an empty string when it holds, else the reason
/// (shown in `/readyz`'s body). Called on the HTTP server's threads, never
/// on CAF's; it may block briefly (a store read).
using readiness_check = std::function<std::string()>;

/// A node's HTTP endpoints (cpp-httplib, on threads of its own, never on
/// CAF's scheduler):
/// - `GET /metrics`: the concatenated metrics sources, content type
///   `text/plain; version=0.0.4; charset=utf-8`;
/// - `GET /healthz`: 200 `ok` while the process serves;
/// - `GET /readyz`: 200 when every check holds, else 503 with one line per
///   failing check (`name: reason`).
/// Every body passes through `redact_credentials` (`aether/core/log.hpp`):
/// no password or token of a URL is ever served.
class http_endpoints {
public:
  struct parts {
    std::vector<metrics_source> metrics;
    std::vector<std::pair<std::string, readiness_check>> checks;
  };

  /// Binds and starts serving; fails with `invalid_option` when disabled,
  /// or with `unavailable` naming the address when it cannot bind.
  static caf::expected<std::unique_ptr<http_endpoints>>
  start(const http_options& opts, parts p);

  /// Stops serving and joins the server's thread.
  ~http_endpoints();

  http_endpoints(const http_endpoints&) = delete;
  http_endpoints& operator=(const http_endpoints&) = delete;

  /// The port it listens on (the chosen one when the options said 0).
  uint16_t port() const;

  /// The body of `/readyz` and whether it is ready (also for tests).
  std::pair<bool, std::string> readiness() const;

  /// The body of `/metrics`.
  std::string metrics() const;

private:
  struct impl;
  explicit http_endpoints(std::unique_ptr<impl> x);
  std::unique_ptr<impl> impl_;
};

} // namespace aether
