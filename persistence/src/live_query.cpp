#include "aether/persistence/live_query.hpp"

#include "page_reader.hpp"

#include <algorithm>

namespace aether {

caf::expected<query_page> event_query::read(event_store& store,
                                            int64_t after_position,
                                            size_t max_count) const {
  if (tag.empty())
    return store.events_by_namespace(after_position, max_count);
  return store.events_by_tag(tag, after_position, max_count);
}

std::string event_query::describe() const {
  return tag.empty() ? std::string{"all events"} : "tag \"" + tag + "\"";
}

live_query::live_query(std::shared_ptr<event_store> store, event_query query,
                       int64_t after_position, options opts, handler f)
  : store_(std::move(store)), query_(std::move(query)), opts_(opts),
    f_(std::move(f)), position_(after_position) {
  if (opts_.batch_size == 0)
    opts_.batch_size = 1;
  if (opts_.poll_interval.count() <= 0)
    opts_.poll_interval = std::chrono::milliseconds{1};
  opts_.max_backoff = std::max(opts_.max_backoff, opts_.poll_interval);
  thread_ = std::thread{[this] {
    run();
  }};
}

live_query::~live_query() {
  stop();
}

void live_query::wake() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    woken_ = true;
  }
  cv_.notify_all();
}

void live_query::stop() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stop_ = true;
  }
  cv_.notify_all();
  std::lock_guard<std::mutex> guard{join_mtx_};
  if (thread_.joinable())
    thread_.join();
}

bool live_query::wait(std::chrono::milliseconds d, bool wakeable) {
  std::unique_lock<std::mutex> lock{mtx_};
  cv_.wait_for(lock, d, [this, wakeable] {
    return stop_ || (wakeable && woken_);
  });
  if (wakeable)
    woken_ = false;
  return !stop_;
}

void live_query::run() {
  auto backoff = opts_.poll_interval;
  auto stopped = [this] {
    std::lock_guard<std::mutex> guard{mtx_};
    return stop_;
  };
  // While the handler works on a page, the next one is read (when the page
  // was full): the read after `ahead.after()`, used only when the handler
  // reads on right there.
  detail::page_reader ahead{*store_, query_, opts_.batch_size};
  // The page handled last, freed by the next read ahead.
  query_page spent;
  while (!stopped()) {
    auto after = position_.load();
    caf::expected<query_page> page{query_page{}};
    if (ahead.pending() && ahead.after() == after)
      page = ahead.take();
    else {
      if (ahead.pending())
        ahead.take(); // read for a position the handler did not go on from
      page = query_.read(*store_, after, opts_.batch_size);
    }
    if (!page) {
      read_failures_ += 1;
      if (!wait(backoff, false))
        return;
      backoff = std::min(backoff * 2, opts_.max_backoff);
      continue;
    }
    if (page->events.empty() && !page->error) {
      position_ = std::max(after, page->next_after);
      backoff = opts_.poll_interval;
      if (page->at_end) {
        caught_up_ = true;
        if (!wait(opts_.poll_interval, true))
          return;
      }
      continue;
    }
    caught_up_ = false;
    // Without a thread for it, the next page is read after the handler.
    if (opts_.read_ahead && !page->at_end && !page->error)
      ahead.start(page->next_after, std::move(spent));
    auto next = f_(*page, after);
    position_ = next.after;
    spent = std::move(*page);
    if (next.later) {
      if (!wait(backoff, false))
        break;
      backoff = std::min(backoff * 2, opts_.max_backoff);
      continue;
    }
    backoff = opts_.poll_interval;
  }
}
} // namespace aether
