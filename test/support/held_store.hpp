#pragma once

// A store for tests that holds every append until the test completes it,
// from any thread: the actor's persist stays in flight meanwhile.

#include "aether/persistence/forwarding_store.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <utility>
#include <vector>

namespace aether::test {

/// Holds every append until the test completes it: with the inner store's
/// outcome (`release`) or with an error, storing nothing (`fail`).
class held_store : public forwarding_store {
public:
  using forwarding_store::forwarding_store;

  void append(std::vector<event> batch, append_callback done) override {
    std::lock_guard<std::mutex> guard{mtx_};
    held_.push_back({std::move(batch), std::move(done)});
    cv_.notify_all();
  }

  /// Waits until `n` appends are held.
  bool wait_held(size_t n) {
    std::unique_lock<std::mutex> lock{mtx_};
    return cv_.wait_for(lock, std::chrono::seconds{10}, [&] {
      return held_.size() >= n;
    });
  }

  size_t held() {
    std::lock_guard<std::mutex> guard{mtx_};
    return held_.size();
  }

  /// The first version of the i-th held append.
  int64_t first_version(size_t i) {
    std::lock_guard<std::mutex> guard{mtx_};
    return held_.at(i).batch.front().version;
  }

  /// Completes the i-th held append with the inner store's outcome.
  void release(size_t i) {
    auto h = take(i);
    h.done(inner().save_events(std::move(h.batch)));
  }

  /// Stores the i-th held append in the inner store and hands back its
  /// outcome and completion, not called yet.
  std::pair<caf::expected<append_result>, append_callback>
  store_only(size_t i) {
    auto h = take(i);
    auto res = inner().save_events(std::move(h.batch));
    return {std::move(res), std::move(h.done)};
  }

  /// Counts snapshots saved at a version the store does not hold.
  caf::error save_snapshot(actor_snapshot s) override {
    auto latest = inner().get_latest_version(s.actor_id);
    if (!latest || s.version > *latest)
      ++snapshots_ahead;
    auto err = forwarding_store::save_snapshot(std::move(s));
    ++snapshots_saved; // after the save: the test reads it back then
    return err;
  }

  std::atomic<int> snapshots_ahead{0};
  std::atomic<int> snapshots_saved{0};

  /// Completes the i-th held append with `err`; nothing is stored.
  void fail(size_t i, caf::error err) {
    take(i).done(std::move(err));
  }

private:
  struct held_append {
    std::vector<event> batch;
    append_callback done;
  };

  held_append take(size_t i) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto h = std::move(held_.at(i));
    held_.erase(held_.begin() + static_cast<std::ptrdiff_t>(i));
    return h;
  }

  std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<held_append> held_;
};

} // namespace aether::test
