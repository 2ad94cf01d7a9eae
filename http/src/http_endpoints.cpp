#include "aether/http/http_endpoints.hpp"

#include "aether/core/error.hpp"
#include "aether/runtime/runtime_error.hpp"

#include <exception>
#include <httplib.h>
#include <thread>

namespace aether {

struct http_endpoints::impl {
  parts p;
  httplib::Server server;
  std::thread thread;
  uint16_t port = 0;

  std::string metrics() const {
    std::string out;
    for (auto& source : p.metrics) {
      try {
        out += source();
      } catch (...) {
        // A source that throws leaves its part out; the scrape goes on.
      }
    }
    return redact_credentials(std::move(out));
  }

  std::pair<bool, std::string> readiness() const {
    std::string failing;
    for (auto& [name, check] : p.checks) {
      std::string reason;
      try {
        reason = check();
      } catch (const std::exception& e) {
        reason = std::string{"the check threw: "} + e.what();
      } catch (...) {
        reason = "the check threw";
      }
      if (!reason.empty())
        failing += name + ": " + reason + "\n";
    }
    if (failing.empty())
      return {true, "ready\n"};
    return {false, redact_credentials("not ready\n" + failing)};
  }
};

http_endpoints::http_endpoints(std::unique_ptr<impl> x) : impl_(std::move(x)) {
  // nop
}

caf::expected<std::unique_ptr<http_endpoints>>
http_endpoints::start(const http_options& opts, parts p) {
  if (!opts.enabled)
    return make_runtime_error(runtime_error::invalid_option,
                              "aether.http.port: not set (the endpoints are "
                              "off)");
  auto x = std::make_unique<impl>();
  x->p = std::move(p);
  auto* self = x.get();
  x->server.Get("/metrics",
                [self](const httplib::Request&, httplib::Response& res) {
                  res.set_content(self->metrics(),
                                  "text/plain; version=0.0.4; charset=utf-8");
                });
  x->server.Get("/healthz",
                [](const httplib::Request&, httplib::Response& res) {
                  res.set_content("ok\n", "text/plain; charset=utf-8");
                });
  x->server.Get("/readyz",
                [self](const httplib::Request&, httplib::Response& res) {
                  auto [ready, body] = self->readiness();
                  res.status = ready ? 200 : 503;
                  res.set_content(body, "text/plain; charset=utf-8");
                });
  int port = opts.port == 0
               ? x->server.bind_to_any_port(opts.bind)
               : (x->server.bind_to_port(opts.bind, opts.port) ? opts.port
                                                               : -1);
  if (port <= 0)
    return make_persistence_error(persistence_error::unavailable,
                                  "aether.http: cannot bind " + opts.bind + ":"
                                    + std::to_string(opts.port));
  x->port = static_cast<uint16_t>(port);
  x->thread = std::thread{[self] {
    self->server.listen_after_bind();
  }};
  return std::unique_ptr<http_endpoints>{new http_endpoints(std::move(x))};
}

http_endpoints::~http_endpoints() {
  impl_->server.stop();
  if (impl_->thread.joinable())
    impl_->thread.join();
}

uint16_t http_endpoints::port() const {
  return impl_->port;
}

std::pair<bool, std::string> http_endpoints::readiness() const {
  return impl_->readiness();
}

std::string http_endpoints::metrics() const {
  return impl_->metrics();
}

} // namespace aether
