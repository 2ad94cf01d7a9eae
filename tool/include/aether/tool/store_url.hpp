#pragma once

#include <caf/expected.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace aether::tool {

/// Where a store is, as the `aether` command names it:
/// `sqlite:///absolute/path.db`, `sqlite://relative/path.db` or
/// `nats://[user:password@]host:port[,host:port...]`.
struct store_url {
  enum class scheme { sqlite, nats };
  scheme kind = scheme::sqlite;
  /// SQLite: the database file.
  std::string path;
  /// NATS: one URL per server (`nats://host:port`, with the credentials of
  /// the text, if any).
  std::vector<std::string> servers;
  /// The text with any password replaced by `***`, for messages.
  std::string shown;
};

/// Parses `text`; `invalid_argument` says what is wrong (unknown scheme, no
/// path, no host, a bad port) and never repeats a password.
caf::expected<store_url> parse_store_url(std::string_view text);

/// `text` with the password of `user:password@host`, or the token of
/// `token@host`, replaced by `***`, for every server of the list, with or
/// without a scheme (a `sqlite://` path stays as it is).
std::string redact_url(std::string_view text);

} // namespace aether::tool
