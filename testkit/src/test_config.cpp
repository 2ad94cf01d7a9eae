#include "aether/testkit/test_config.hpp"

#include <caf/atom.hpp>

namespace aether::testkit {

test_config::test_config() {
  set("scheduler.policy", caf::atom("testing"));
  set("logger.verbosity", caf::atom("quiet"));
  set("logger.file-verbosity", caf::atom("quiet"));
  set("logger.console-verbosity", caf::atom("quiet"));
}

} // namespace aether::testkit
