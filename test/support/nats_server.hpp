#pragma once

// The tests' nats-server is the test kit's (aether/testkit/nats_server.hpp).

#include "aether/nats/nats_options.hpp"
#include "aether/testkit/nats_server.hpp"
#include "temp_dir.hpp"

namespace aether::test {

using nats_server = aether::testkit::nats_server;

/// One server for a whole test program, started on first use.
inline nats_server& shared_nats_server() {
  static nats_server instance;
  return instance;
}

/// Options that connect to `shared_nats_server()`.
inline nats_options shared_nats_options() {
  nats_options o;
  o.servers = {shared_nats_server().url()};
  return o;
}

} // namespace aether::test
