#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace aether::detail {

/// One actor's latest version and, when known, the stream sequence of its
/// message (the expected last subject sequence of its next append).
struct version_entry {
  int64_t version = 0;
  uint64_t seq = 0;
  bool seq_known = false;
};

/// What jetstream_store knows of each actor's latest version, so that an
/// append needs no read first. Bounded: an actor forgotten here costs its
/// next append one read of its last message, nothing else. Thread-safe.
class version_cache {
public:
  using entry = version_entry;

  explicit version_cache(size_t max_actors);

  std::optional<entry> find(const std::string& actor_id) const;

  /// Stores what an append or a read found.
  void put(const std::string& actor_id, entry e);

  void erase(const std::string& actor_id);

  /// Raises the actor's version (another node stored it); the sequence of
  /// that version is unknown.
  void raise(const std::string& actor_id, int64_t version);

  size_t size() const;

private:
  void put_locked(const std::string& actor_id, entry e);

  size_t max_actors_;
  mutable std::mutex mtx_;
  std::unordered_map<std::string, entry> map_;
};

} // namespace aether::detail
