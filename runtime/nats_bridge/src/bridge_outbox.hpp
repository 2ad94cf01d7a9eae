#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace aether::detail {

/// The bridge's publisher: envelopes handed over by the bus (any thread,
/// never blocking: no socket write on an actor's thread) and written to NATS
/// by a thread of its own, in batches. After each batch it calls `flush`: with
/// a connection that batches writes (`nats_options::send_asap` false), one
/// write carries the whole batch and an event alone still goes out at once.
class bridge_outbox {
public:
  /// Publishes one message (subject, payload) and counts its failures; a
  /// callback that throws anyway does not end the thread.
  using publish_fn
    = std::function<void(const std::string&, const std::string&)>;
  /// Writes what the publishes buffered.
  using flush_fn = std::function<void()>;

  /// At most `max_queued` messages wait (besides the batch being written);
  /// `push` refuses more.
  bridge_outbox(size_t max_queued, publish_fn publish, flush_fn flush);

  /// Publishes what waits, then ends the thread.
  ~bridge_outbox();

  bridge_outbox(const bridge_outbox&) = delete;
  bridge_outbox& operator=(const bridge_outbox&) = delete;

  /// Queues a message; false when `max_queued` wait already or the outbox
  /// stopped.
  bool push(std::string subject, std::string payload);

  /// Publishes what waits and ends the thread; later pushes are refused.
  void stop();

private:
  struct item {
    std::string subject;
    std::string payload;
  };

  void run();

  size_t max_queued_;
  publish_fn publish_;
  flush_fn flush_;
  std::mutex m_;
  std::condition_variable cv_;
  std::vector<item> items_;
  bool stopping_ = false;
  std::thread thread_;
};

} // namespace aether::detail
