#pragma once

#include "aether/projections/offset_store.hpp"

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace aether::detail {

/// Stores the offsets of one at-least-once worker on a thread of its own, so
/// that the worker handles its next read while the offset of the one before
/// is written (an fsync, a network round trip). At most one save is in
/// flight, so a crash repeats at most two reads: the one whose offset was
/// being stored and the one being handled.
class offset_committer {
public:
  offset_committer(std::string name, std::shared_ptr<offset_store> offsets);

  /// Waits for the save in flight, then stops the thread.
  ~offset_committer();

  offset_committer(const offset_committer&) = delete;
  offset_committer& operator=(const offset_committer&) = delete;

  /// Waits for the save in flight; returns its error.
  caf::error wait();

  /// Starts storing `x` in the background; call `wait` first (one save at
  /// a time). `x` replaces an offset that failed to be stored before.
  void start(const stored_offset& x);

  /// Stores `x` and waits for it (after the save in flight).
  caf::error save(const stored_offset& x);

  /// Unless a save is in flight: stores the newest offset that failed to be
  /// stored, if any, and waits for it.
  caf::error retry();

  /// The newest stored position, -1 before the first save.
  int64_t stored() const {
    return stored_.load();
  }

private:
  void run();

  std::string name_;
  std::shared_ptr<offset_store> offsets_;
  std::mutex mtx_;
  std::condition_variable cv_;
  /// The save to do next or being done.
  std::optional<stored_offset> job_;
  bool busy_ = false;
  bool stop_ = false;
  caf::error last_error_;
  /// The newest offset whose save failed (tried again by `retry`).
  std::optional<stored_offset> failed_;
  std::atomic<int64_t> stored_{-1};
  std::thread thread_;
};

} // namespace aether::detail
