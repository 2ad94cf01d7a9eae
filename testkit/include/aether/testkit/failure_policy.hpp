#pragma once

#include "aether/testkit/store_call.hpp"

#include <caf/error.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>

namespace aether::testkit {

/// What a `failing_store` does with the calls of one operation: let them
/// pass, fail them, or delay them. Build one with a factory and narrow it
/// with `times`, `on_call` and `when`:
///
/// ```
/// store->set(store_operation::append,
///            failure_policy::fail().on_call(3)); // only the 3rd append
/// ```
///
/// A policy applies to every call it matches until it is spent (`times`)
/// or replaced. Calls counted by `times` and `on_call` are the calls that
/// match `when`, from the moment the policy was set.
class failure_policy {
public:
  enum class action {
    /// The call goes to the inner store.
    pass,
    /// The call fails; nothing is stored.
    fail,
    /// The call fails with an unknown outcome, after it was carried out
    /// (`lands`) or not.
    unknown_outcome,
    /// The call goes to the inner store after a delay.
    delay,
  };

  /// Every call passes (the default of every operation).
  static failure_policy pass();

  /// The store cannot serve the call: it fails with `err`, by default
  /// `unavailable` ("injected failure: <operation> of <actor>"), and
  /// stores nothing.
  static failure_policy fail(caf::error err = {});

  /// The store refuses the call's input: it fails with `err`, by default
  /// `invalid_argument` ("rejected by the test's failure policy: ..."),
  /// and stores nothing.
  static failure_policy reject(caf::error err = {});

  /// The call fails with `unknown_outcome` (or `err`): with `lands` the
  /// inner store carried it out first (a write that landed although its
  /// writer never heard back), without it nothing happened.
  static failure_policy unknown_outcome(bool lands, caf::error err = {});

  /// The call goes through after `d` (real time). Reads and snapshot calls
  /// wait on the calling thread (the runtime's I/O workers); an append
  /// completes from a thread of the store (`completion::background`) or
  /// waits on the calling thread (`completion::caller`, as in the
  /// behavior kit, where that thread runs the whole system).
  static failure_policy delay(std::chrono::milliseconds d);

  /// Applies to `n` matching calls only, then lets calls pass: the next
  /// `n`, or `n` from the one `on_call` names (`on_call(3).times(2)`: the
  /// 3rd and the 4th).
  failure_policy& times(uint64_t n);

  /// Applies to the `n`-th matching call only (1 is the next one); see
  /// `times` to widen it.
  failure_policy& on_call(uint64_t n);

  /// Applies only to calls for which `pred` holds.
  failure_policy& when(std::function<bool(const store_call&)> pred);

  /// The predicate of `when` (empty: every call matches).
  const std::function<bool(const store_call&)>& predicate() const {
    return pred_;
  }

  /// Says what to do with a call, given whether the predicate `matched` it,
  /// and counts it if it did (`pass` when it does not match or the policy is
  /// spent). `failing_store` evaluates the predicate outside its lock.
  action decide(bool matched);

  /// The error of a failing call (`fail` or `unknown_outcome`).
  caf::error error_for(const store_call& call) const;

  bool lands() const {
    return lands_;
  }

  std::chrono::milliseconds delay_time() const {
    return delay_;
  }

private:
  enum class kind { pass, fail, reject, unknown_outcome, delay };

  explicit failure_policy(kind k) : kind_(k) {
    // nop
  }

  kind kind_;
  caf::error err_;
  bool lands_ = false;
  std::chrono::milliseconds delay_{0};
  std::function<bool(const store_call&)> pred_;
  uint64_t first_ = 1;
  uint64_t last_ = std::numeric_limits<uint64_t>::max();
  uint64_t seen_ = 0;
};

} // namespace aether::testkit
