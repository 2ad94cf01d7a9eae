#pragma once

#include "aether/persistence/snapshot_store.hpp"
#include "aether/tool/store_options.hpp"
#include "aether/tool/store_url.hpp"

#include <caf/expected.hpp>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace aether {
class nats_connection;
} // namespace aether

namespace aether::tool {

/// A store the `aether` command opened from a URL: SQLite or JetStream.
class opened_store {
public:
  /// What to do when the store does not exist yet.
  enum class mode {
    /// Open an existing store only; never create or change anything on
    /// open (every command but `import`).
    existing,
    /// Create the store (file or streams) if missing (`import`).
    create,
  };

  /// Opens the store `url` names. Errors say which store and why: a
  /// missing file or stream (`not_found`), a refused connection or
  /// credential (`unavailable`, `store_failure`); never a password.
  static caf::expected<opened_store> open(const store_url& url,
                                          const store_options& opts, mode m);

  /// NATS only: connects without opening a store (for `tail`).
  static caf::expected<std::shared_ptr<nats_connection>>
  connect(const store_url& url, const store_options& opts);

  opened_store(opened_store&&) noexcept;
  opened_store& operator=(opened_store&&) noexcept;
  ~opened_store();

  event_store_with_snapshots& store() {
    return *store_;
  }

  /// The URL as shown to people (no password).
  const std::string& shown() const {
    return shown_;
  }

  /// Facts about the storage itself, in order (`stats`): the file and its
  /// size for SQLite; the streams, their messages and bytes for JetStream.
  std::vector<std::pair<std::string, std::string>> storage_facts() const;

private:
  opened_store() = default;

  /// SQLite opens read-only for `read_only`; JetStream only binds to
  /// existing streams for both `read_only` and `write_existing`.
  enum class access { read_only, write_existing, create };

  static caf::expected<opened_store>
  open_store(const store_url& url, const store_options& opts, access how);

  std::string shown_;
  store_url::scheme kind_ = store_url::scheme::sqlite;
  std::string path_;
  std::shared_ptr<nats_connection> conn_;
  std::unique_ptr<event_store_with_snapshots> store_;
};

} // namespace aether::tool
