#include "page_reader.hpp"

#include <system_error>

namespace aether::detail {

page_reader::page_reader(event_store& store, const event_query& query,
                         size_t batch_size)
  : store_(store), query_(query), batch_size_(batch_size) {
  // nop
}

page_reader::~page_reader() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable())
    thread_.join();
}

bool page_reader::start(int64_t after, query_page spent) {
  if (!thread_.joinable()) {
    try {
      thread_ = std::thread{[this] {
        run();
      }};
    } catch (const std::system_error&) {
      return false;
    }
  }
  {
    std::lock_guard<std::mutex> guard{mtx_};
    spent_ = std::move(spent);
    after_ = after;
    requested_ = true;
    result_.reset();
  }
  cv_.notify_all();
  pending_ = true;
  return true;
}

caf::expected<query_page> page_reader::take() {
  std::unique_lock<std::mutex> lock{mtx_};
  cv_.wait(lock, [this] {
    return result_.has_value();
  });
  auto out = std::move(*result_);
  result_.reset();
  pending_ = false;
  return out;
}

void page_reader::run() {
  std::unique_lock<std::mutex> lock{mtx_};
  for (;;) {
    cv_.wait(lock, [this] {
      return stop_ || requested_;
    });
    if (!requested_) // stopped, nothing in flight
      return;
    requested_ = false;
    auto after = after_;
    query_page freed = std::move(spent_);
    lock.unlock();
    auto page = query_.read(store_, after, batch_size_);
    freed = query_page{}; // the page handled last, freed on this thread
    lock.lock();
    result_ = std::move(page);
    cv_.notify_all();
  }
}

} // namespace aether::detail
