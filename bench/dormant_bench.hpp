#pragma once

// aether-bench actors --dormant (see dormant_bench.cpp).

#include <caf/fwd.hpp>
#include <cstdint>
#include <string>

namespace aether::bench {

struct dormant_options {
  std::string sync = "full";
  int64_t actors = 1000000;
  int64_t limit = 100000;
  int64_t events_per_actor = 2;
  /// Commands in flight at once while touching every actor.
  int64_t window = 1000;
  /// Actors passivated with a snapshot, then activated one at a time.
  int64_t sample = 10000;
};

int run_dormant(caf::actor_system& sys, const dormant_options& a);

} // namespace aether::bench
