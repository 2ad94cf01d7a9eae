#pragma once

#include <stdexcept>
#include <string>

namespace aether::testkit {

/// Thrown by the test kit when a check fails (an event or a state that does
/// not round-trip through JSON) or when the kit is misused (a snapshot
/// seeded before any event). The message says what and where.
class check_failed : public std::runtime_error {
public:
  explicit check_failed(const std::string& what) : std::runtime_error(what) {
    // nop
  }
};

} // namespace aether::testkit
