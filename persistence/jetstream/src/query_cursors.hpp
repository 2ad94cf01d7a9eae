#pragma once

#include "aether/nats/jetstream_reader.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace aether::detail {

/// Open readers of the event stream kept between query reads: a read that
/// goes on where an earlier one stopped (a live query's next page) takes
/// its reader instead of creating and deleting a consumer, two requests
/// that cost more the longer the stream. Readers unused for `idle` are
/// closed by the next take or give, the least recently used beyond `max`
/// at once, the rest with the store. Thread-safe.
class query_cursors {
public:
  struct cursor {
    std::unique_ptr<jetstream_reader> reader;
    /// The query: a tag, or empty for every event.
    std::string tag;
    /// The position the next read goes on after.
    int64_t after = 0;
    /// A message taken from the reader and not wholly handed out yet
    /// (the page was full): the next read starts with it.
    jetstream_message held;
    /// The stream's message count and last sequence when the read that
    /// kept this cursor began: a later read drops the cursor unless the
    /// count grew by exactly the sequences added, i.e. nothing the reader
    /// may hold buffered was deleted or expired since.
    uint64_t messages = 0;
    uint64_t last_seq = 0;
    std::chrono::steady_clock::time_point used;
  };

  query_cursors(size_t max, std::chrono::milliseconds idle);

  /// The cursor of query `tag` that goes on after `after`, or null.
  std::unique_ptr<cursor> take(const std::string& tag, int64_t after);

  /// Keeps `c` for the next read.
  void give(std::unique_ptr<cursor> c);

  /// Readers opened so far.
  uint64_t opened() const;

  /// Counts a reader opened.
  void count_opened();

private:
  /// Moves the cursors to close out of `xs_` into `out` (under the lock).
  void expire(std::vector<std::unique_ptr<cursor>>& out);

  size_t max_;
  std::chrono::milliseconds idle_;
  mutable std::mutex mtx_;
  std::vector<std::unique_ptr<cursor>> xs_;
  uint64_t opened_ = 0;
};

} // namespace aether::detail
