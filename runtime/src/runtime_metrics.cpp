#include "aether/runtime/runtime_metrics.hpp"

#include <cstdio>

namespace aether {

void latency_histogram::record(std::chrono::nanoseconds d) {
  auto ns = static_cast<uint64_t>(std::max<int64_t>(d.count(), 0));
  auto secs = static_cast<double>(ns) / 1e9;
  size_t i = 0;
  while (i < bounds.size() && secs > bounds[i])
    ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(ns, std::memory_order_relaxed);
  auto prev = max_ns_.load(std::memory_order_relaxed);
  while (prev < ns
         && !max_ns_.compare_exchange_weak(prev, ns, std::memory_order_relaxed))
    ; // retry
}

latency_histogram::values latency_histogram::read() const {
  values v;
  uint64_t cumulative = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    cumulative += counts_[i].load(std::memory_order_relaxed);
    v.buckets[i] = cumulative;
  }
  v.count = count_.load(std::memory_order_relaxed);
  v.sum_seconds = static_cast<double>(sum_ns_.load()) / 1e9;
  v.max_seconds = static_cast<double>(max_ns_.load()) / 1e9;
  return v;
}

runtime_metrics::values runtime_metrics::read() const {
  values v;
  v.snapshots_saved = snapshots_saved.load();
  v.snapshot_failures = snapshot_failures.load();
  v.snapshot_fallbacks = snapshot_fallbacks.load();
  v.recoveries = recoveries.load();
  v.recovery_failures = recovery_failures.load();
  v.events_replayed = events_replayed.load();
  v.events_persisted = events_persisted.load();
  v.persist_failures = persist_failures.load();
  v.version_conflicts = version_conflicts.load();
  v.commands_waiting = commands_waiting.load();
  v.recovery_duration = recovery_duration.read();
  v.persist_latency = persist_latency.read();
  return v;
}

void prometheus_counter(std::string& out, const char* name, const char* help,
                        uint64_t value, const char* type) {
  char buf[512];
  std::snprintf(buf, sizeof(buf), "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name,
                help, name, type, name, static_cast<unsigned long long>(value));
  out += buf;
}

void prometheus_histogram(std::string& out, const char* name, const char* help,
                          const latency_histogram::values& v) {
  char buf[256];
  std::snprintf(buf, sizeof(buf), "# HELP %s %s\n# TYPE %s histogram\n", name,
                help, name);
  out += buf;
  for (size_t i = 0; i < latency_histogram::bounds.size(); ++i) {
    std::snprintf(buf, sizeof(buf), "%s_bucket{le=\"%g\"} %llu\n", name,
                  latency_histogram::bounds[i],
                  static_cast<unsigned long long>(v.buckets[i]));
    out += buf;
  }
  std::snprintf(buf, sizeof(buf),
                "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.9f\n%s_count %llu\n",
                name, static_cast<unsigned long long>(v.buckets.back()), name,
                v.sum_seconds, name, static_cast<unsigned long long>(v.count));
  out += buf;
}

std::string runtime_metrics::to_prometheus() const {
  auto v = read();
  std::string out;
  prometheus_counter(out, "aether_snapshots_saved_total", "Snapshots saved.",
                     v.snapshots_saved);
  prometheus_counter(out, "aether_snapshot_failures_total",
                     "Snapshot saves that failed.", v.snapshot_failures);
  prometheus_counter(
    out, "aether_snapshot_fallbacks_total",
    "Snapshots skipped during recovery because they did not decode.",
    v.snapshot_fallbacks);
  prometheus_counter(out, "aether_recoveries_total", "Completed recoveries.",
                     v.recoveries);
  prometheus_counter(out, "aether_recovery_failures_total",
                     "Failed recoveries.", v.recovery_failures);
  prometheus_counter(out, "aether_events_replayed_total",
                     "Events replayed during recoveries.", v.events_replayed);
  char buf[256];
  std::snprintf(buf, sizeof(buf),
                "# HELP aether_average_replay_events Events replayed per "
                "recovery.\n# TYPE aether_average_replay_events gauge\n"
                "aether_average_replay_events %g\n",
                v.average_replay());
  out += buf;
  prometheus_counter(out, "aether_events_persisted_total", "Events persisted.",
                     v.events_persisted);
  prometheus_counter(out, "aether_persist_failures_total",
                     "Persists that failed.", v.persist_failures);
  prometheus_counter(out, "aether_version_conflicts_total",
                     "Persists refused with version_conflict.",
                     v.version_conflicts);
  std::snprintf(buf, sizeof(buf),
                "# HELP aether_commands_waiting Messages queued behind a "
                "recovery or persist.\n# TYPE aether_commands_waiting gauge\n"
                "aether_commands_waiting %lld\n",
                static_cast<long long>(v.commands_waiting));
  out += buf;
  std::snprintf(buf, sizeof(buf),
                "# HELP aether_recovery_duration_max_seconds Longest "
                "recovery.\n# TYPE aether_recovery_duration_max_seconds "
                "gauge\naether_recovery_duration_max_seconds %.9f\n",
                v.recovery_duration.max_seconds);
  out += buf;
  prometheus_histogram(out, "aether_recovery_duration_seconds",
                       "Recovery duration.", v.recovery_duration);
  prometheus_histogram(out, "aether_persist_latency_seconds",
                       "Time from persist to stored.", v.persist_latency);
  return out;
}

} // namespace aether
