#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace aether {

/// A histogram with fixed bucket bounds (seconds), safe to update from any
/// thread.
class latency_histogram {
public:
  /// Upper bounds of the buckets, in seconds (a last +Inf bucket is implied).
  static constexpr std::array<double, 14> bounds{0.0001, 0.00025, 0.0005, 0.001,
                                                 0.0025, 0.005,   0.01,   0.025,
                                                 0.05,   0.1,     0.25,   0.5,
                                                 1.0,    5.0};

  struct values {
    /// Cumulative counts per bound, then the total (the +Inf bucket).
    std::array<uint64_t, bounds.size() + 1> buckets{};
    uint64_t count = 0;
    double sum_seconds = 0;
    double max_seconds = 0;
  };

  void record(std::chrono::nanoseconds d);
  values read() const;

private:
  std::array<std::atomic<uint64_t>, bounds.size() + 1> counts_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_ns_{0};
  std::atomic<uint64_t> max_ns_{0};
};

/// Appends one counter (or, with `type` "gauge", one gauge) in Prometheus
/// text exposition format, with its HELP and TYPE lines.
void prometheus_counter(std::string& out, const char* name, const char* help,
                        uint64_t value, const char* type = "counter");

/// Appends one histogram (buckets in seconds) in Prometheus text format.
void prometheus_histogram(std::string& out, const char* name, const char* help,
                          const latency_histogram::values& v);

/// The persistence metrics of one actor system (one `store_context`),
/// readable as a struct and as Prometheus text exposition.
class runtime_metrics {
public:
  struct values {
    uint64_t snapshots_saved = 0;
    uint64_t snapshot_failures = 0;
    uint64_t snapshot_fallbacks = 0;
    uint64_t recoveries = 0;
    uint64_t recovery_failures = 0;
    uint64_t events_replayed = 0;
    uint64_t events_persisted = 0;
    uint64_t persist_failures = 0;
    uint64_t version_conflicts = 0;
    int64_t commands_waiting = 0;
    latency_histogram::values recovery_duration;
    latency_histogram::values persist_latency;

    /// Events replayed per recovery (0 without recoveries).
    double average_replay() const {
      return recoveries == 0 ? 0.0
                             : static_cast<double>(events_replayed)
                                 / static_cast<double>(recoveries);
    }
  };

  values read() const;

  /// Prometheus text exposition (version 0.0.4), metric names prefixed with
  /// `aether_`.
  std::string to_prometheus() const;

  // -- updates (called by the runtime) ---------------------------------------

  std::atomic<uint64_t> snapshots_saved{0};
  std::atomic<uint64_t> snapshot_failures{0};
  std::atomic<uint64_t> snapshot_fallbacks{0};
  std::atomic<uint64_t> recoveries{0};
  std::atomic<uint64_t> recovery_failures{0};
  std::atomic<uint64_t> events_replayed{0};
  std::atomic<uint64_t> events_persisted{0};
  std::atomic<uint64_t> persist_failures{0};
  std::atomic<uint64_t> version_conflicts{0};
  std::atomic<int64_t> commands_waiting{0};
  latency_histogram recovery_duration;
  latency_histogram persist_latency;
};

} // namespace aether
