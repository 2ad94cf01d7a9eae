#include "aether/runtime/recovery_limiter.hpp"

#include <algorithm>
#include <vector>

namespace aether {

recovery_limiter::recovery_limiter(size_t limit) : limit_(limit) {
  // nop
}

bool recovery_limiter::acquire(uint64_t id, grant_fn granted) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (running_.count(id) > 0)
    return true;
  if (waiting_.empty() && has_room()) {
    running_.insert(id);
    return true;
  }
  waiting_.emplace_back(id, std::move(granted));
  return false;
}

void recovery_limiter::release(uint64_t id) {
  std::unique_lock<std::mutex> lock{mtx_};
  if (running_.erase(id) == 0) {
    auto i = std::find_if(waiting_.begin(), waiting_.end(),
                          [id](const waiter& w) {
                            return w.first == id;
                          });
    if (i != waiting_.end())
      waiting_.erase(i);
    return;
  }
  grant_waiting(lock);
}

void recovery_limiter::set_limit(size_t limit) {
  std::unique_lock<std::mutex> lock{mtx_};
  limit_ = limit;
  grant_waiting(lock);
}

void recovery_limiter::grant_waiting(std::unique_lock<std::mutex>& lock) {
  while (!waiting_.empty() && has_room()) {
    std::vector<waiter> granted;
    while (!waiting_.empty() && has_room()) {
      running_.insert(waiting_.front().first);
      granted.push_back(std::move(waiting_.front()));
      waiting_.pop_front();
    }
    lock.unlock();
    std::vector<uint64_t> gone;
    for (auto& w : granted)
      if (!w.second())
        gone.push_back(w.first);
    lock.lock();
    // An actor that is gone frees its slot (unless its exit did already).
    for (auto id : gone)
      running_.erase(id);
  }
}

size_t recovery_limiter::limit() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return limit_;
}

size_t recovery_limiter::running() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return running_.size();
}

size_t recovery_limiter::waiting() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return waiting_.size();
}

} // namespace aether
