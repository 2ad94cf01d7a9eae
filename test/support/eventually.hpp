#pragma once

// Waits for a condition with a deadline (never a fixed sleep): real-time
// tests poll with it.

#include <chrono>
#include <functional>
#include <thread>

namespace aether::test {

inline bool
eventually(const std::function<bool()>& pred,
           std::chrono::milliseconds limit = std::chrono::seconds{10}) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{2});
  }
  return true;
}

} // namespace aether::test
