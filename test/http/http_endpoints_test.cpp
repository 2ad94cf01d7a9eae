// The HTTP endpoints with a real HTTP client: /metrics (checked with
// Prometheus' own `promtool check metrics`), /healthz and /readyz, a store
// that does not answer, and no credential in any body.

#include "aether/core/error.hpp"
#include "aether/http/http_endpoints.hpp"
#include "aether/http/readiness.hpp"
#include "aether/persistence/memory_store.hpp"
#include "aether/runtime/actor_registry.hpp"
#include "aether/runtime/config.hpp"
#include "aether/runtime/store_context.hpp"
#include "aether/testkit/failing_store.hpp"
#include "catch.hpp"
#include "shell.hpp"
#include "tally.hpp"
#include "temp_dir.hpp"

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <cstdio>
#include <fstream>
#include <httplib.h>
#include <sstream>

using namespace aether;
using namespace aether::test;

TEST_CASE("http: /metrics passes promtool, /healthz, /readyz with reasons, "
          "no secret served") {
  auto store = std::make_shared<testkit::failing_store>(
    std::make_shared<memory_store>());
  aether::config cfg;
  caf::actor_system sys{cfg};
  auto ctx = store_context::make(sys, store);
  auto reg = actor_registry::spawn(sys, [ctx](caf::actor_system& s,
                                              const std::string& id) {
    return s.spawn<tally_actor>(id, ctx);
  });
  {
    caf::scoped_actor self{sys};
    self
      ->request(reg->router(), caf::infinite, ask_atom::value,
                std::string{"h1"},
                caf::make_message(add_atom::value, int64_t{1}))
      .receive([](int64_t) {},
               [&](caf::error& err) {
                 FAIL(sys.render(err));
               });
  }
  http_options opts;
  opts.enabled = true; // port 0: a free one, on loopback
  http_endpoints::parts parts;
  parts.metrics = {[ctx] {
                     return ctx.prometheus();
                   },
                   [reg] {
                     return reg->prometheus();
                   }};
  parts.checks = {{"store", store_reachable(ctx)},
                  {"recoveries", recoveries_moving(ctx)}};
  auto ep = http_endpoints::start(opts, std::move(parts));
  REQUIRE(ep);
  httplib::Client cli{"127.0.0.1", (*ep)->port()};

  auto metrics = cli.Get("/metrics");
  REQUIRE(metrics);
  CHECK(metrics->status == 200);
  CHECK(metrics->get_header_value("Content-Type")
        == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(metrics->body.find("aether_recoveries_running") != std::string::npos);
  CHECK(metrics->body.find("aether_activations_total 1\n")
        != std::string::npos);
  temp_dir dir;
  auto file = (dir.path() / "metrics.txt").string();
  std::ofstream{file} << metrics->body;
  auto [rc, out] = test::shell("promtool check metrics < " + file);
  INFO(out);
  CHECK(rc == 0);

  auto health = cli.Get("/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);
  CHECK(health->body == "ok\n");

  auto ready = cli.Get("/readyz");
  REQUIRE(ready);
  CHECK(ready->status == 200);
  CHECK(ready->body == "ready\n");

  // Reads fail, with a NATS URL holding a password in the error.
  store->set(testkit::store_operation::read,
             testkit::failure_policy::fail(make_persistence_error(
               persistence_error::unavailable,
               "nats://alice:s3cret@nats.internal:4222 refused the "
               "connection")));
  ready = cli.Get("/readyz");
  REQUIRE(ready);
  CHECK(ready->status == 503);
  INFO(ready->body);
  CHECK(ready->body.find("store: the store does not answer")
        != std::string::npos);
  CHECK(ready->body.find("nats://***@nats.internal") != std::string::npos);
  CHECK(ready->body.find("s3cret") == std::string::npos);
  CHECK(ready->body.find("recoveries") == std::string::npos);

  auto missing = cli.Get("/nope");
  REQUIRE(missing);
  CHECK(missing->status == 404);
}

TEST_CASE("http: options from the config, off unless a port is set") {
  {
    aether::config cfg;
    auto o = http_options::from_config(cfg);
    REQUIRE(o);
    CHECK_FALSE(o->enabled);
    CHECK(o->bind == "127.0.0.1");
    auto ep = http_endpoints::start(*o, {});
    REQUIRE_FALSE(ep);
    CHECK(to_string(ep.error()).find("aether.http.port") != std::string::npos);
  }
  {
    aether::config cfg;
    char prog[] = "prog";
    char port[] = "--aether.http.port=9464";
    char bind[] = "--aether.http.bind=0.0.0.0";
    char* argv[] = {prog, port, bind};
    std::istringstream no_file;
    REQUIRE_FALSE(cfg.parse(3, argv, no_file));
    auto o = http_options::from_config(cfg);
    REQUIRE(o);
    CHECK(o->enabled);
    CHECK(o->port == 9464);
    CHECK(o->bind == "0.0.0.0");
  }
  {
    aether::config cfg;
    std::istringstream ini{"[aether.http]\nport=70000\n"};
    char prog[] = "prog";
    char* argv[] = {prog};
    REQUIRE_FALSE(cfg.parse(1, argv, ini));
    auto o = http_options::from_config(cfg);
    REQUIRE_FALSE(o);
    CHECK(to_string(o.error()).find("aether.http.port: must be between 1 and "
                                    "65535 (is 70000)")
          != std::string::npos);
  }
}

TEST_CASE("http: credentials are redacted") {
  CHECK(redact_credentials("nats://u:p@h:4222 and tls://tok@x")
        == "nats://***@h:4222 and tls://***@x");
  CHECK(redact_credentials("url?token=abc&x=1 password=hunter2")
        == "url?token=***&x=1 password=***");
  CHECK(redact_credentials("nats://host:4222") == "nats://host:4222");
}
