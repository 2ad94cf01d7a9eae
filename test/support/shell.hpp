#pragma once

#include "catch.hpp"

#include <cstdio>
#include <string>
#include <sys/wait.h>
#include <utility>

namespace aether::test {

/// Runs `cmd` with /bin/sh; returns its exit code and its output (stdout
/// and stderr).
inline std::pair<int, std::string> shell(const std::string& cmd) {
  std::string out;
  auto* p = ::popen((cmd + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[512];
  while (auto n = std::fread(buf, 1, sizeof(buf), p))
    out.append(buf, n);
  auto rc = ::pclose(p);
  return {WEXITSTATUS(rc), out};
}

} // namespace aether::test
