#pragma once

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace aether {

/// Checks a namespace name for publishing: one or more dot-separated tokens,
/// each non-empty printable ASCII without whitespace, `*` or `>`, at most 255
/// bytes in all. Returns `invalid_argument` naming the rule otherwise.
caf::error validate_namespace(std::string_view ns);

/// A NATS-style pattern over dot-separated tokens: `*` matches exactly one
/// token, `>` (only as the last token) matches one or more trailing tokens.
/// A token that merely contains `*` or `>` (such as `tenant-*`) is an
/// ordinary literal token, as in NATS. A pattern without wildcards matches
/// exactly one namespace.
class subject_pattern {
public:
  /// Parses `text`; fails with `invalid_argument` for an empty pattern, an
  /// empty token (`a..b`, `.a`, `a.`), whitespace or control characters, or
  /// a `>` that is not the last token.
  static caf::expected<subject_pattern> parse(std::string_view text);

  /// True if `subject` (a valid namespace) matches.
  bool matches(std::string_view subject) const;

  /// True if the pattern has no wildcard token.
  bool literal() const {
    return literal_;
  }

  const std::string& str() const {
    return text_;
  }

private:
  std::string text_;
  std::vector<std::string> tokens_;
  bool literal_ = true;
};

} // namespace aether
