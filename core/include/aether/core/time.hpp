#pragma once

#include <caf/expected.hpp>
#include <chrono>
#include <string>
#include <string_view>

namespace aether {

/// Wall-clock UTC timestamps with nanosecond resolution.
using timestamp = std::chrono::time_point<std::chrono::system_clock,
                                          std::chrono::nanoseconds>;

/// Returns the current UTC time.
timestamp now();

/// Formats `t` as RFC 3339 in UTC with sub-second digits and trailing zeros
/// removed, as Go's `time.RFC3339Nano` does: `2024-05-01T10:00:00.12Z`.
std::string format_rfc3339(timestamp t);

/// Parses an RFC 3339 timestamp (`Z` or a `+hh:mm`/`-hh:mm` offset, any number
/// of sub-second digits up to nanoseconds).
caf::expected<timestamp> parse_rfc3339(std::string_view text);

} // namespace aether
