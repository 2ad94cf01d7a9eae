#pragma once

// Parses command-line options (after the program name) into a CAF config,
// without a config file: the tests of `from_config` functions use it.

#include "catch.hpp"

#include <caf/actor_system_config.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace aether::test {

inline void parse_args(caf::actor_system_config& cfg,
                       std::vector<std::string> args) {
  args.insert(args.begin(), "prog");
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  std::istringstream no_file;
  REQUIRE_FALSE(cfg.parse(static_cast<int>(argv.size()), argv.data(), no_file));
}

} // namespace aether::test
