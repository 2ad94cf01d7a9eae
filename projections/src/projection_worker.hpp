#pragma once

#include "aether/persistence/live_query.hpp"
#include "aether/projections/projection_options.hpp"
#include "aether/projections/projection_stats.hpp"
#include "projection_sink.hpp"

#include <atomic>
#include <memory>
#include <mutex>

namespace aether::detail {

/// The worker of a projection that handles the actors hashing to `index`:
/// a live query from its stored offset whose pages go, filtered, upcast and
/// grouped, to its sink; failures retried with backoff, dead letters by
/// choice.
class projection_worker {
public:
  projection_worker(std::shared_ptr<event_store> store,
                    const projection_options& opts, size_t index,
                    std::unique_ptr<projection_sink> sink, int64_t offset);

  ~projection_worker();

  void stop();
  void wake();

  projection_stats stats() const;

private:
  live_query::next_read on_page(const query_page& page, int64_t after);

  /// Counts a failure at `position`; hands it to the dead-letter function
  /// and moves on after enough attempts. Returns where to read on.
  live_query::next_read failed(int64_t position, const caf::error& err,
                               const event* ev, const std::string& raw);

  bool mine(const std::string& actor_id) const;

  const projection_options& opts_;
  size_t index_;
  std::unique_ptr<projection_sink> sink_;
  // Only the live query's thread touches these after the start.
  int64_t failing_position_ = -1;
  size_t attempts_ = 0;
  /// The offset loaded at the start (stored before this run).
  const int64_t start_;
  /// The position handled up to (its offset stored, or being stored).
  std::atomic<int64_t> offset_;
  std::atomic<uint64_t> handled_{0};
  std::atomic<uint64_t> failures_{0};
  std::atomic<uint64_t> dead_letters_{0};
  std::atomic<int64_t> last_event_ns_{0};
  // Last: started after everything above, stopped first.
  std::unique_ptr<live_query> query_;
};

/// FNV-1a (64 bits) of `s`: stable across processes and builds, so a
/// restarted projection gives each worker the same actors.
uint64_t fnv1a(const std::string& s);

} // namespace aether::detail
