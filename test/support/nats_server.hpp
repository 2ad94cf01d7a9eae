#pragma once

// The tests' nats-server is the test kit's (aether/testkit/nats_server.hpp).

#include "aether/testkit/nats_server.hpp"
#include "temp_dir.hpp"

namespace aether::test {

using nats_server = aether::testkit::nats_server;

} // namespace aether::test
