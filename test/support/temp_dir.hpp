#pragma once

// The tests' temporary folder is the test kit's (aether/testkit/temp_dir.hpp).

#include "aether/testkit/temp_dir.hpp"

namespace aether::test {

using temp_dir = aether::testkit::temp_dir;

} // namespace aether::test
