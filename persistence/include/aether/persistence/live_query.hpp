#pragma once

#include "aether/persistence/event_store.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace aether {

/// Which events a query reads, in the store's global order: every event of
/// the store (`all`) or those of one tag (`by_tag`).
struct event_query {
  /// Empty: every event.
  std::string tag;

  static event_query all() {
    return {};
  }

  static event_query by_tag(std::string tag) {
    return event_query{std::move(tag)};
  }

  /// One bounded read: `events_by_namespace` or `events_by_tag`.
  caf::expected<query_page> read(event_store& store, int64_t after_position,
                                 size_t max_count) const;

  /// "all events" or "tag \"x\"".
  std::string describe() const;
};

/// A live query: reads a query from a position on, page by page, and keeps
/// reading as new events arrive, on a thread of its own (so its blocking
/// store reads never run on CAF's scheduler).
///
/// Each page with events or an undecodable record goes to the handler, in
/// position order, with the position it was read after; the handler says
/// where to read on (`next_read`): normally after `page.next_after`; after
/// `page.error->position` to skip a record that does not decode; or, when
/// it failed part way, after the last event it handled, `later` set, so that
/// the query backs off before it reads the rest again. Pages follow one
/// another without a gap or a duplicate: catching up and following live are
/// the same loop. A read that fails (store unreachable) is retried with
/// backoff and counted.
class live_query {
public:
  struct options {
    /// Events per read, at most.
    size_t batch_size = 256;
    /// How often a caught-up query reads again (`wake` reads at once).
    std::chrono::milliseconds poll_interval{10};
    /// The longest wait between retries of a failing read or a page read
    /// again; the wait doubles from `poll_interval` up to it.
    std::chrono::milliseconds max_backoff{2000};
    /// Read the next page while the handler works on a full one (on a
    /// second thread, for the query's life, which also frees the page
    /// handled last; the page is dropped when the handler reads on from
    /// elsewhere).
    bool read_ahead = true;
  };

  /// Where to read on after a page.
  struct next_read {
    /// Read on after this position.
    int64_t after = 0;
    /// Back off before reading (the handler failed).
    bool later = false;
  };

  /// Gets a page and the position it was read after.
  using handler = std::function<next_read(const query_page&, int64_t after)>;

  /// Starts reading `query` from `store` after `after_position`.
  live_query(std::shared_ptr<event_store> store, event_query query,
             int64_t after_position, options opts, handler f);

  /// Stops and waits for the thread (never call it from the handler).
  ~live_query();

  live_query(const live_query&) = delete;
  live_query& operator=(const live_query&) = delete;

  /// Asks the query to read now instead of at its next poll (for instance
  /// from a writer that just stored an event); it does not cut a backoff
  /// short. Any thread.
  void wake();

  /// Stops reading; returns after the handler ran for the last time.
  void stop();

  /// The position the query reads on after.
  int64_t position() const {
    return position_.load();
  }

  /// Reads that failed (and were retried).
  uint64_t read_failures() const {
    return read_failures_.load();
  }

  /// True once a read found nothing newer (cleared by a page with events).
  bool caught_up() const {
    return caught_up_.load();
  }

private:
  void run();
  /// Waits up to `d` or until stopped (or woken, when `wakeable`: a poll,
  /// not a backoff); false when stopped.
  bool wait(std::chrono::milliseconds d, bool wakeable);

  std::shared_ptr<event_store> store_;
  event_query query_;
  options opts_;
  handler f_;
  std::atomic<int64_t> position_;
  std::atomic<uint64_t> read_failures_{0};
  std::atomic<bool> caught_up_{false};
  std::mutex mtx_;
  std::condition_variable cv_;
  std::mutex join_mtx_; // stop() from several threads joins once
  bool stop_ = false;
  bool woken_ = false;
  std::thread thread_;
};

} // namespace aether
