#pragma once

#include "aether/runtime/passivation_options.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace aether {

/// Why an actor was passivated.
enum class passivation_cause {
  /// No message for `idle_timeout`.
  idle,
  /// More active actors than `max_active`.
  count_limit,
  /// More bytes of state than `memory_budget`.
  memory_budget,
};

const char* to_string(passivation_cause x);

/// The bookkeeping behind passivation, without actors: which actors are
/// active, in least-recently-used order, with the messages they have in
/// flight and the bytes their state takes; and which of them to passivate
/// now. An actor with a message in flight is never chosen. Used by the
/// actor registry and by the cluster's routers (one owner each, no locks).
class activation_table {
public:
  using time_point = std::chrono::steady_clock::time_point;

  /// One actor to passivate.
  struct victim {
    std::string id;
    passivation_cause cause;
  };

  /// Adds `id` as active and most recently used (a no-op if present).
  void add(const std::string& id, time_point now);
  /// Forgets `id` (it stopped).
  void remove(const std::string& id);
  bool contains(const std::string& id) const;

  /// A message went to `id` / its answer came back: both count as use.
  void begin(const std::string& id, time_point now);
  void end(const std::string& id, time_point now);

  /// The bytes of `id`'s state.
  void set_bytes(const std::string& id, uint64_t bytes);

  /// `id` is asked to stop: it counts no more as active, and is never
  /// chosen again.
  void mark_passivating(const std::string& id);
  bool passivating(const std::string& id) const;

  /// Active actors (not passivating).
  size_t active() const {
    return active_;
  }
  /// Bytes of state of the active actors.
  uint64_t bytes() const {
    return bytes_;
  }
  /// Messages in flight to `id`.
  size_t in_flight(const std::string& id) const;

  /// The actors to passivate at `now` under `opts`, least recently used
  /// first: every idle one (no message in flight, none for
  /// `idle_timeout`), then as many others without a message in flight as
  /// it takes to get within `max_active` and `memory_budget`. Changes
  /// nothing: mark each with `mark_passivating` when it is asked to stop.
  std::vector<victim> select(time_point now,
                             const passivation_options& opts) const;

  /// The `n` least recently used actors without a message in flight (fewer
  /// if there are not as many).
  std::vector<std::string> least_recent(size_t n) const;

  /// Active ids (not passivating), in no order.
  std::vector<std::string> active_ids() const;

  /// The ids that could be chosen (active, nothing in flight), least
  /// recently used first (tests, diagnostics).
  std::vector<std::string> order() const;

private:
  struct entry {
    time_point last_used;
    size_t in_flight = 0;
    uint64_t bytes = 0;
    bool passivating = false;
    /// Its place in `idle_` while it has nothing in flight and is not
    /// passivating (so `select` never walks past busy actors).
    std::list<std::string>::iterator place;
    bool listed = false;
  };

  void unlist(entry& e);
  void list_last(const std::string& id, entry& e);

  /// The candidates, least recently used first.
  std::list<std::string> idle_;
  std::unordered_map<std::string, entry> entries_;
  size_t active_ = 0;
  uint64_t bytes_ = 0;
};

} // namespace aether
