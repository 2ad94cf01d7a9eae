#pragma once

#include <cstdint>
#include <string>

namespace aether::bench {

/// `aether-bench cluster`: prints one JSON line (see cluster_bench.cpp).
int run_cluster(const std::string& nats_url, int64_t requests,
                int64_t shard_actors);

} // namespace aether::bench
