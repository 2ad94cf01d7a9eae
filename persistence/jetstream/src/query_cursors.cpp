#include "query_cursors.hpp"

#include <algorithm>

namespace aether::detail {

query_cursors::query_cursors(size_t max, std::chrono::milliseconds idle)
  : max_(std::max<size_t>(max, 1)), idle_(idle) {
  // nop
}

void query_cursors::expire(std::vector<std::unique_ptr<cursor>>& out) {
  auto now = std::chrono::steady_clock::now();
  for (auto i = xs_.begin(); i != xs_.end();) {
    if (now - (*i)->used > idle_) {
      out.push_back(std::move(*i));
      i = xs_.erase(i);
    } else {
      ++i;
    }
  }
}

std::unique_ptr<query_cursors::cursor>
query_cursors::take(const std::string& tag, int64_t after) {
  // Closing a reader is a request to the server: done outside the lock.
  std::vector<std::unique_ptr<cursor>> closing;
  std::unique_ptr<cursor> out;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    expire(closing);
    for (auto i = xs_.begin(); i != xs_.end(); ++i) {
      if ((*i)->after == after && (*i)->tag == tag) {
        out = std::move(*i);
        xs_.erase(i);
        break;
      }
    }
  }
  return out;
}

void query_cursors::give(std::unique_ptr<cursor> c) {
  std::vector<std::unique_ptr<cursor>> closing;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    c->used = std::chrono::steady_clock::now();
    xs_.push_back(std::move(c));
    expire(closing);
    while (xs_.size() > max_) {
      // The least recently used goes.
      auto oldest = std::min_element(xs_.begin(), xs_.end(),
                                     [](const auto& a, const auto& b) {
                                       return a->used < b->used;
                                     });
      closing.push_back(std::move(*oldest));
      xs_.erase(oldest);
    }
  }
}

uint64_t query_cursors::opened() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return opened_;
}

void query_cursors::count_opened() {
  std::lock_guard<std::mutex> guard{mtx_};
  ++opened_;
}

} // namespace aether::detail
