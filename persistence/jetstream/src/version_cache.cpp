#include "version_cache.hpp"

#include <algorithm>

namespace aether::detail {

version_cache::version_cache(size_t max_actors)
  : max_actors_(std::max<size_t>(max_actors, 1)) {
  // nop
}

std::optional<version_cache::entry>
version_cache::find(const std::string& actor_id) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = map_.find(actor_id);
  if (i == map_.end())
    return std::nullopt;
  return i->second;
}

void version_cache::put(const std::string& actor_id, entry e) {
  std::lock_guard<std::mutex> guard{mtx_};
  put_locked(actor_id, e);
}

void version_cache::erase(const std::string& actor_id) {
  std::lock_guard<std::mutex> guard{mtx_};
  map_.erase(actor_id);
}

void version_cache::raise(const std::string& actor_id, int64_t version) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = map_.find(actor_id);
  if (i == map_.end()) {
    put_locked(actor_id, entry{version, 0, false});
  } else if (version > i->second.version) {
    i->second.version = version;
    i->second.seq_known = false;
  }
}

size_t version_cache::size() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return map_.size();
}

void version_cache::put_locked(const std::string& actor_id, entry e) {
  if (map_.size() >= max_actors_ && map_.count(actor_id) == 0)
    map_.erase(map_.begin());
  map_[actor_id] = e;
}

} // namespace aether::detail
