#pragma once

#include "aether/runtime/config.hpp"

namespace aether::testkit {

/// An actor system config for deterministic tests: CAF's test coordinator
/// as the scheduler (nothing runs until the test runs it, all on the test's
/// thread) and CAF's own logging quiet.
struct test_config : aether::config {
  test_config();
};

} // namespace aether::testkit
