#include "offset_committer.hpp"

#include "contained_call.hpp"

namespace aether::detail {

offset_committer::offset_committer(std::string name,
                                   std::shared_ptr<offset_store> offsets)
  : name_(std::move(name)), offsets_(std::move(offsets)) {
  thread_ = std::thread{[this] {
    run();
  }};
}

offset_committer::~offset_committer() {
  wait();
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void offset_committer::run() {
  std::unique_lock<std::mutex> lock{mtx_};
  for (;;) {
    cv_.wait(lock, [this] {
      return stop_ || (job_ && !busy_);
    });
    if (stop_)
      return;
    auto x = *job_;
    busy_ = true;
    lock.unlock();
    // The store is user code as far as this thread is concerned: an
    // exception must not end the process.
    auto err = contained_call("the offset store", [&] {
      return offsets_->save(name_, x);
    });
    if (!err)
      stored_ = x.position;
    lock.lock();
    last_error_ = std::move(err);
    if (last_error_)
      failed_ = x;
    else
      failed_.reset();
    job_.reset();
    busy_ = false;
    cv_.notify_all();
  }
}

caf::error offset_committer::wait() {
  std::unique_lock<std::mutex> lock{mtx_};
  cv_.wait(lock, [this] {
    return !job_ && !busy_;
  });
  return last_error_;
}

void offset_committer::start(const stored_offset& x) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    job_ = x;
    last_error_ = caf::none;
  }
  cv_.notify_all();
}

caf::error offset_committer::save(const stored_offset& x) {
  wait();
  start(x);
  return wait();
}

caf::error offset_committer::retry() {
  std::optional<stored_offset> again;
  {
    // A save in flight is newer than any that failed: nothing to retry.
    std::lock_guard<std::mutex> guard{mtx_};
    if (job_ || busy_)
      return caf::none;
    again = failed_;
  }
  if (!again)
    return caf::none;
  return save(*again);
}

} // namespace aether::detail
