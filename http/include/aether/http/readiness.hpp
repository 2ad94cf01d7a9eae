#pragma once

#include "aether/http/http_endpoints.hpp"
#include "aether/runtime/store_context.hpp"

#include <chrono>

namespace aether {

/// Ready when the context's store answers a read (the latest version of an
/// actor id no one uses); the reason is the store's error.
readiness_check store_reachable(store_context ctx);

/// Ready unless recoveries wait while none has finished for `stuck_after`:
/// the recovery limiter's queue does not move.
readiness_check recoveries_moving(store_context ctx,
                                  std::chrono::milliseconds stuck_after
                                  = std::chrono::seconds{60});

} // namespace aether
