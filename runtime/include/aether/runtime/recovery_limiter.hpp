#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <unordered_set>
#include <utility>

namespace aether {

/// Bounds how many persistent actors recover at once (per `store_context`,
/// so per store and node), like Akka's `max-concurrent-recoveries`: an
/// actor takes a slot before its first read and gives it back once its
/// recovery completed or failed. The others wait, in the order they asked,
/// with their commands held; their recovery timeout starts only with their
/// slot, so a storm of activations queues instead of timing out in the I/O
/// workers' mailboxes.
///
/// Thread-safe, and nothing blocks: a waiting actor is told by its callback
/// (which sends it a message) when its turn comes.
class recovery_limiter {
public:
  /// Tells a waiting actor that it holds a slot now; false when the actor is
  /// gone (its slot then goes to the next one). Called without the lock held.
  using grant_fn = std::function<bool()>;

  /// `limit` slots; 0: no limit.
  explicit recovery_limiter(size_t limit);

  /// Takes a slot for `id` now (true), or queues `id` (false): `granted()`
  /// then runs once a slot is free. An id that holds a slot already gets
  /// true.
  bool acquire(uint64_t id, grant_fn granted);

  /// Gives back the slot of `id`, or takes `id` out of the queue; hands
  /// freed slots to the actors that wait longest. A no-op for an id that
  /// holds nothing.
  void release(uint64_t id);

  /// Changes the limit (0: none) at run time; a higher one admits waiting
  /// actors at once, a lower one lets running recoveries finish.
  void set_limit(size_t limit);

  size_t limit() const;

  /// Recoveries holding a slot.
  size_t running() const;

  /// Actors waiting for a slot.
  size_t waiting() const;

private:
  using waiter = std::pair<uint64_t, grant_fn>;

  bool has_room() const {
    return limit_ == 0 || running_.size() < limit_;
  }

  /// Moves waiting actors into free slots and tells them, in order.
  void grant_waiting(std::unique_lock<std::mutex>& lock);

  mutable std::mutex mtx_;
  size_t limit_;
  std::unordered_set<uint64_t> running_;
  std::deque<waiter> waiting_;
};

} // namespace aether
