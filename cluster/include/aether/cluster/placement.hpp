#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace aether {

/// The shard of an entity: a stable 64-bit FNV-1a hash of its type and id,
/// modulo `shard_count`. The same on every node, platform and release.
uint32_t shard_of(std::string_view type, std::string_view id,
                  uint32_t shard_count);

/// The node that should own `shard` among `members` (rendezvous hashing:
/// the member with the highest hash of (member, shard)). Every node that
/// sees the same members computes the same owner; when a member joins or
/// leaves, only the shards it wins or held move (about 1/N of them).
/// Returns an empty string when `members` is empty.
std::string owner_of(uint32_t shard, const std::vector<std::string>& members);

} // namespace aether
