#pragma once

#include <atomic>
#include <mutex>

namespace aether::detail {

/// Lets an owner end calls into user code synchronously: once `close`
/// returns, no call made through `call` is running or starts again. A call
/// may close its own gate (the mutex is recursive). `closing` is set first,
/// so that queued calls stop at once and a busy stream cannot keep `close`
/// waiting.
struct call_gate {
  std::recursive_mutex m;
  bool closed = false;
  std::atomic<bool> closing{false};

  void close() {
    closing = true;
    std::lock_guard<std::recursive_mutex> guard{m};
    closed = true;
  }

  /// Runs `f` unless the gate is closed; true if it ran.
  template <class F>
  bool call(F&& f) {
    if (closing)
      return false;
    std::lock_guard<std::recursive_mutex> guard{m};
    if (closed)
      return false;
    f();
    return true;
  }
};

} // namespace aether::detail
