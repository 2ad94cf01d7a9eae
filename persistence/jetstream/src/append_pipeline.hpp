#pragma once

#include "aether/persistence/event_store.hpp"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace aether::detail {

/// Orders and groups a store's appends (the JetStream store's).
///
/// Per actor, one append is in flight at a time: the server checks each
/// against the subject's last sequence, which the previous append's ack
/// tells. Batches of the actor that arrive meanwhile wait, and go together
/// as one append (one message) when it completed: a hot, pipelined actor
/// stores as many events per round trip as it produced during one.
///
/// A group is first offered to `start` (an asynchronous publish that must
/// not block); when that declines, `run` does it on one of the pipeline's
/// threads (it may block: read the actor's last message first, write a
/// head). Completions fan out to each batch's callback.
class append_pipeline {
public:
  /// One caller's batch: its events, their encodings, its completion.
  struct batch {
    std::vector<event> events;
    std::vector<std::string> encoded;
    event_store::append_callback done;
  };

  /// Contiguous batches of one actor, appended as one.
  struct group {
    std::vector<event> events;
    std::vector<std::string> encoded;
    /// The last version of each batch, and its completion.
    std::vector<std::pair<int64_t, event_store::append_callback>> parts;
  };

  using complete_fn = std::function<void(caf::expected<append_result>)>;
  using retry_fn = std::function<void()>;
  /// Starts `g` without blocking and returns true, or returns false and
  /// leaves `g` as it was. Once started, exactly one of `complete` (the
  /// outcome) or `run_instead` (nothing was stored: `run` does it after
  /// all) is called, once, on any thread.
  using start_fn = std::function<bool(group& g, const complete_fn& complete,
                                      const retry_fn& run_instead)>;
  /// Appends `g`, blocking.
  using run_fn = std::function<caf::expected<append_result>(group& g)>;

  struct limits {
    /// Threads for `run`.
    size_t threads = 4;
    /// A group takes waiting batches up to this many events and encoded
    /// bytes (a single batch always goes, whatever its size).
    size_t max_events = 1000;
    size_t max_bytes = 512 * 1024;
    /// How long the destructor waits for appends in flight (each completes
    /// within the store's timeout; this bounds a shutdown whose callbacks
    /// never come).
    std::chrono::milliseconds drain_timeout{10000};
  };

  append_pipeline(limits lim, start_fn start, run_fn run);

  /// Waits until every submitted batch completed (at most `drain_timeout`),
  /// then stops the threads.
  ~append_pipeline();

  append_pipeline(const append_pipeline&) = delete;
  append_pipeline& operator=(const append_pipeline&) = delete;

  /// Appends `b` after the batches of its actor submitted before it.
  void submit(batch b);

private:
  struct waiting {
    std::deque<batch> batches;
  };

  /// Takes the next group of `actor_id` from its waiting batches; when none
  /// waits, ends its chain and returns false.
  bool next_group(const std::string& actor_id, group& out);
  void dispatch(const std::string& actor_id, group g);
  /// Queues `g` for `run`.
  void enqueue(const std::string& actor_id, group g);
  void finish(const std::string& actor_id, group& g,
              caf::expected<append_result> res);
  void run_worker();

  limits lim_;
  start_fn start_;
  run_fn run_;
  std::mutex mtx_;
  std::condition_variable cv_;
  /// Actors with an append in flight, and the batches that wait behind it.
  std::unordered_map<std::string, waiting> chains_;
  /// Groups for `run`.
  std::deque<std::pair<std::string, group>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

} // namespace aether::detail
