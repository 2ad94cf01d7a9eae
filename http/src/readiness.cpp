#include "aether/http/readiness.hpp"

#include "aether/core/error.hpp"

#include <atomic>
#include <mutex>

namespace aether {

readiness_check store_reachable(store_context ctx) {
  return [ctx] {
    auto v = ctx.store->get_latest_version("aether-readyz");
    return v ? std::string{}
             : "the store does not answer: " + describe(v.error());
  };
}

readiness_check recoveries_moving(store_context ctx,
                                  std::chrono::milliseconds stuck_after) {
  struct progress {
    std::mutex mtx;
    uint64_t finished = 0;
    std::chrono::steady_clock::time_point since
      = std::chrono::steady_clock::now();
  };
  auto state = std::make_shared<progress>();
  return [ctx, stuck_after, state]() -> std::string {
    if (!ctx.recoveries)
      return {};
    auto m = ctx.metrics->read();
    auto finished = m.recoveries + m.recovery_failures;
    auto now = std::chrono::steady_clock::now();
    std::lock_guard<std::mutex> guard{state->mtx};
    if (finished != state->finished || ctx.recoveries->waiting() == 0) {
      state->finished = finished;
      state->since = now;
      return {};
    }
    if (now - state->since < stuck_after)
      return {};
    return std::to_string(ctx.recoveries->waiting())
           + " recoveries wait and none finished for "
           + std::to_string(
             std::chrono::duration_cast<std::chrono::milliseconds>(
               now - state->since)
               .count())
           + " ms";
  };
}

} // namespace aether
