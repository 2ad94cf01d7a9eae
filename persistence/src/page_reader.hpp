#pragma once

#include "aether/persistence/live_query.hpp"

#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

namespace aether::detail {

/// Reads a live query's next page ahead on a thread of its own that lives
/// as long as the query: its memory stays warm (a thread per read starts
/// on cold memory), and the page handled last is freed there, off the
/// handler's thread, where it was allocated.
class page_reader {
public:
  page_reader(event_store& store, const event_query& query, size_t batch_size);

  /// Waits for a read in flight, then ends the thread.
  ~page_reader();

  page_reader(const page_reader&) = delete;
  page_reader& operator=(const page_reader&) = delete;

  /// Starts reading after `after`, and frees `spent` there. At most one
  /// read is in flight (`take` it first). False when no thread could be
  /// started (read on the caller's thread instead).
  bool start(int64_t after, query_page spent);

  /// True while a read started is not taken.
  bool pending() const {
    return pending_;
  }

  /// The position the pending read reads after.
  int64_t after() const {
    return after_;
  }

  /// Waits for the pending read and returns it.
  caf::expected<query_page> take();

private:
  void run();

  event_store& store_;
  const event_query& query_;
  size_t batch_size_;
  std::mutex mtx_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool requested_ = false;
  std::optional<caf::expected<query_page>> result_;
  query_page spent_;
  bool pending_ = false;
  int64_t after_ = -1;
  std::thread thread_;
};

} // namespace aether::detail
