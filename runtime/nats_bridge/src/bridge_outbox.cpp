#include "bridge_outbox.hpp"

namespace aether::detail {

bridge_outbox::bridge_outbox(size_t max_queued, publish_fn publish,
                             flush_fn flush)
  : max_queued_(max_queued), publish_(std::move(publish)),
    flush_(std::move(flush)) {
  thread_ = std::thread{[this] {
    run();
  }};
}

bridge_outbox::~bridge_outbox() {
  stop();
}

bool bridge_outbox::push(std::string subject, std::string payload) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> guard{m_};
    if (stopping_ || items_.size() >= max_queued_)
      return false;
    wake = items_.empty();
    items_.push_back(item{std::move(subject), std::move(payload)});
  }
  // The thread sleeps only when nothing waits.
  if (wake)
    cv_.notify_one();
  return true;
}

void bridge_outbox::stop() {
  {
    std::lock_guard<std::mutex> guard{m_};
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable())
    thread_.join();
}

void bridge_outbox::run() {
  std::vector<item> batch;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock{m_};
      cv_.wait(lock, [this] {
        return !items_.empty() || stopping_;
      });
      if (items_.empty())
        return; // stopping, and everything went out
      batch.swap(items_);
    }
    // Nothing may end this thread (an exception here would end the
    // process); the callbacks count their own failures.
    for (auto& x : batch) {
      try {
        publish_(x.subject, x.payload);
      } catch (...) {
        // the publish callback counted it or could not
      }
    }
    batch.clear();
    try {
      flush_();
    } catch (...) {
      // a flush only speeds up the write; the next batch flushes again
    }
  }
}

} // namespace aether::detail
