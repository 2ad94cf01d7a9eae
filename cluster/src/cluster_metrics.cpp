#include "aether/cluster/cluster_metrics.hpp"

namespace aether {

std::string cluster_metrics::to_prometheus() const {
  std::string out;
  auto gauge = [&](const char* name, const char* help, int64_t v) {
    prometheus_counter(out, name, help, static_cast<uint64_t>(v < 0 ? 0 : v),
                       "gauge");
  };
  auto counter = [&](const char* name, const char* help,
                     const std::atomic<uint64_t>& v) {
    prometheus_counter(out, name, help, v.load());
  };
  gauge("aether_cluster_shards_owned", "Shards this node owns.",
        shards_owned.load());
  gauge("aether_cluster_entities_active", "Entities running on this node.",
        entities_active.load());
  counter("aether_cluster_claims_total", "Shards claimed.", claims);
  counter("aether_cluster_failovers_total", "Shards claimed from a dead node.",
          failovers);
  counter("aether_cluster_releases_total", "Shards handed over.", releases);
  counter("aether_cluster_leases_lost_total",
          "Shards dropped after this node lost its membership.", leases_lost);
  counter("aether_cluster_renew_failures_total", "Heartbeats that failed.",
          renew_failures);
  counter("aether_cluster_routed_local_total",
          "Requests answered by an entity on this node.", routed_local);
  counter("aether_cluster_routed_remote_total",
          "Requests sent to another node.", routed_remote);
  counter("aether_cluster_served_remote_total",
          "Requests from other nodes served here.", served_remote);
  gauge("aether_cluster_buffered", "Requests waiting for a shard's owner.",
        buffered.load());
  counter("aether_cluster_retries_total",
          "Deliveries tried again (no owner yet).", retries);
  counter("aether_cluster_refused_total",
          "Requests refused: buffer full or no owner in time.", refused);
  counter("aether_cluster_timeouts_total",
          "Requests without an answer in time.", timeouts);
  counter("aether_cluster_invalid_total", "Requests refused as invalid.",
          invalid);
  counter("aether_cluster_remembered_started_total",
          "Remembered entities started when their shard was claimed.",
          remembered_started);
  prometheus_histogram(out, "aether_cluster_local_request_seconds",
                       "Round trip of requests served on this node.",
                       local_latency.read());
  prometheus_histogram(out, "aether_cluster_remote_request_seconds",
                       "Round trip of requests served by another node.",
                       remote_latency.read());
  out += activations.to_prometheus();
  return out;
}

} // namespace aether
