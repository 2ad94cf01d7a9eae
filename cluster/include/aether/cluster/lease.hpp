#pragma once

#include <caf/expected.hpp>
#include <cstdint>
#include <string>

namespace aether {

/// A node's entry in the members bucket. The key `<node>` has a value while
/// the node heartbeats; the bucket's TTL removes it `lease_ttl` after the
/// last heartbeat. `incarnation` is new on every start of the node.
struct member_record {
  std::string node;
  std::string incarnation;
  uint32_t shard_count = 0;
};

/// A shard's lease in the shards bucket (key `shard.<n>`): the node and
/// incarnation that hold it, or an empty node when it was released. The
/// lease is valid while that node's member entry has that incarnation; the
/// node renews all its leases with one heartbeat. `epoch` grows by one with
/// every claim (compare-and-swap on the key's revision), never goes back.
struct shard_lease {
  std::string node;
  std::string incarnation;
  uint64_t epoch = 0;
};

std::string encode(const member_record& x);
std::string encode(const shard_lease& x);

/// Parse a stored value; a malformed one fails with `corrupt_data` naming
/// the field.
caf::expected<member_record> decode_member(const std::string& json);
caf::expected<shard_lease> decode_lease(const std::string& json);

} // namespace aether
