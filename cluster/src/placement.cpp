#include "aether/cluster/placement.hpp"

namespace aether {

namespace {

constexpr uint64_t fnv_offset = 14695981039346656037ull;
constexpr uint64_t fnv_prime = 1099511628211ull;

uint64_t fnv1a(uint64_t h, std::string_view bytes) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= fnv_prime;
  }
  return h;
}

/// Spreads the bits of a hash (splitmix64's finalizer): FNV-1a of inputs
/// that differ only in their last bytes differs mostly in the low bits.
uint64_t mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

} // namespace

uint32_t shard_of(std::string_view type, std::string_view id,
                  uint32_t shard_count) {
  if (shard_count == 0)
    return 0;
  auto h = fnv1a(fnv_offset, type);
  h = fnv1a(h, std::string_view{"\0", 1});
  h = fnv1a(h, id);
  return static_cast<uint32_t>(mix(h) % shard_count);
}

std::string owner_of(uint32_t shard, const std::vector<std::string>& members) {
  std::string best;
  uint64_t best_score = 0;
  for (auto& m : members) {
    auto h = fnv1a(fnv_offset, m);
    for (int i = 0; i < 4; ++i) {
      h ^= (shard >> (8 * i)) & 0xff;
      h *= fnv_prime;
    }
    auto score = mix(h);
    if (best.empty() || score > best_score
        || (score == best_score && m < best)) {
      best = m;
      best_score = score;
    }
  }
  return best;
}

} // namespace aether
