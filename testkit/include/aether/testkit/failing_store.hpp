#pragma once

#include "aether/persistence/forwarding_store.hpp"
#include "aether/testkit/failure_policy.hpp"

#include <array>
#include <chrono>
#include <memory>
#include <mutex>

namespace aether::testkit {

/// A store for tests that wraps any store and fails, rejects or delays its
/// calls by a policy per operation (see `failure_policy`). Every call the
/// policy lets pass goes to the inner store unchanged.
///
/// ```
/// auto store = std::make_shared<aether::testkit::failing_store>(
///   std::make_shared<aether::memory_store>());
/// store->set(aether::testkit::store_operation::append,
///            aether::testkit::failure_policy::fail().times(1));
/// ```
///
/// Thread-safe like every store. Appends keep their order: once one is
/// delayed, every append after it (passing or failing) waits behind it.
/// A `when` predicate runs outside the store's lock; one that throws fails
/// the call (`store_failure`, naming the exception).
class failing_store : public forwarding_store {
public:
  /// Where appends complete.
  enum class completion {
    /// Like the inner store (its writer thread, or at once); delayed appends
    /// complete from a thread of this store. For real actor systems.
    background,
    /// On the thread that calls `append` (the inner store's blocking
    /// `save_events`); a delayed append sleeps on that thread first. For
    /// CAF's deterministic test coordinator, where a completion from
    /// another thread would race the test's own thread.
    caller,
  };

  explicit failing_store(std::shared_ptr<event_store_with_snapshots> inner,
                         completion mode = completion::background);

  /// Waits for the delayed appends, then stops the delay thread.
  ~failing_store() override;

  /// Sets the policy of `op`, replacing the one it had.
  void set(store_operation op, failure_policy policy);

  /// Every operation passes again.
  void clear();

  /// How many calls of `op` the store got, passed or not.
  uint64_t calls(store_operation op) const;

  /// Appends delayed, or queued behind a delayed one, and not completed
  /// yet.
  size_t delayed() const;

  /// Waits until no append is delayed, at most `limit`; true if none is.
  bool wait_delayed(std::chrono::milliseconds limit);

  void append(std::vector<event> batch, append_callback done) override;
  caf::expected<std::vector<event>> get_events(const std::string& actor_id,
                                               event_range range) override;
  using event_store::get_events;
  caf::expected<replay_result>
  get_events_with_errors(const std::string& actor_id,
                         event_range range) override;
  caf::expected<int64_t>
  get_latest_version(const std::string& actor_id) override;
  caf::error delete_events_to(const std::string& actor_id,
                              int64_t version) override;
  caf::error save_snapshot(actor_snapshot s) override;
  caf::expected<std::optional<actor_snapshot>>
  get_latest_snapshot(const std::string& actor_id,
                      snapshot_criteria criteria
                      = snapshot_criteria::latest()) override;
  caf::expected<size_t> delete_snapshots(const std::string& actor_id,
                                         snapshot_criteria criteria) override;

private:
  static constexpr size_t operation_count = 6;

  struct decision {
    failure_policy::action act = failure_policy::action::pass;
    caf::error err;
    bool lands = false;
    std::chrono::milliseconds delay{0};
  };

  /// The delayed appends and the thread that completes them, shared with
  /// that thread: the store may go away on it (a completion that drops the
  /// last reference), and the thread then finishes on its own.
  struct delay_line;

  decision decide(store_call call);

  template <class R, class F>
  R guarded(store_call call, F forward);

  completion mode_;
  mutable std::mutex mtx_;
  std::array<failure_policy, operation_count> policies_;
  std::array<uint64_t, operation_count> calls_{};
  std::shared_ptr<delay_line> line_;
};

} // namespace aether::testkit
