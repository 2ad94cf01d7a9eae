#pragma once

#include "aether/nats/jetstream.hpp"
#include "aether/nats/nats_connection.hpp"

#include <caf/expected.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct __kvStore;

namespace aether {

/// One value of a key-value bucket and its revision (the stream sequence
/// of the message that holds it: revisions only grow, across all keys).
struct kv_entry {
  std::string key;
  std::string value;
  uint64_t revision = 0;
};

/// How a bucket is created, and what an existing bucket must match.
struct kv_bucket_options {
  /// Bucket name: letters, digits, `-` and `_`.
  std::string name;
  /// Values older than this disappear (0: never). nats-server 2.9 removes
  /// them without telling watchers, so readers poll.
  std::chrono::milliseconds ttl{0};
  /// Copies of the bucket on a JetStream cluster.
  int replicas = 1;
};

/// A JetStream key-value bucket (nats.c's KV on the project's one
/// connection). Every call blocks for a round trip: call it from a thread
/// of your own, never from a CAF scheduler thread. Thread-safe.
class kv_bucket {
public:
  /// Binds to the bucket, creating it when it does not exist. An existing
  /// bucket with another TTL or replica count is refused (`invalid_argument`
  /// naming the setting, its value and the expected value).
  static caf::expected<std::unique_ptr<kv_bucket>>
  open(std::shared_ptr<nats_connection> conn, const kv_bucket_options& opts);

  ~kv_bucket();

  kv_bucket(const kv_bucket&) = delete;
  kv_bucket& operator=(const kv_bucket&) = delete;

  /// The latest value of `key`, or none when it has none (never written,
  /// expired, deleted).
  caf::expected<std::optional<kv_entry>> get(const std::string& key);

  /// Writes `value` only if `key` has no value (never written, or deleted):
  /// `version_conflict` otherwise. Returns the new revision.
  caf::expected<uint64_t> create(const std::string& key,
                                 const std::string& value);

  /// Writes `value` only if the latest revision of `key` is still `last`
  /// (compare-and-swap): `version_conflict` otherwise. Returns the new
  /// revision.
  caf::expected<uint64_t> update(const std::string& key,
                                 const std::string& value, uint64_t last);

  /// Writes `value` unconditionally. Returns the new revision.
  caf::expected<uint64_t> put(const std::string& key, const std::string& value);

  /// Deletes the value of `key` (a delete marker: `get` and `keys` no
  /// longer see it).
  caf::error remove(const std::string& key);

  /// The keys that have a message now: every key with a value, and possibly
  /// deleted ones (`get` gives none for those). One request to the server,
  /// no consumer.
  caf::expected<std::vector<std::string>> keys();

  const std::string& name() const {
    return opts_.name;
  }

private:
  kv_bucket(std::shared_ptr<nats_connection> conn, kv_bucket_options opts,
            __kvStore* kv);

  caf::expected<uint64_t> write(const std::string& key,
                                const std::string& value,
                                const uint64_t* expected_last);

  std::shared_ptr<nats_connection> conn_;
  jetstream js_;
  kv_bucket_options opts_;
  __kvStore* kv_;
};

} // namespace aether
