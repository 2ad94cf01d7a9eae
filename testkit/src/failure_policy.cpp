#include "aether/testkit/failure_policy.hpp"

#include "aether/core/error.hpp"

namespace aether::testkit {

std::string to_string(store_operation op) {
  switch (op) {
    case store_operation::append: return "append";
    case store_operation::read: return "read";
    case store_operation::save_snapshot: return "save_snapshot";
    case store_operation::load_snapshot: return "load_snapshot";
    case store_operation::delete_events: return "delete_events";
    case store_operation::delete_snapshots: return "delete_snapshots";
  }
  return "unknown operation";
}

failure_policy failure_policy::pass() {
  return failure_policy{kind::pass};
}

failure_policy failure_policy::fail(caf::error err) {
  failure_policy p{kind::fail};
  p.err_ = std::move(err);
  return p;
}

failure_policy failure_policy::reject(caf::error err) {
  failure_policy p{kind::reject};
  p.err_ = std::move(err);
  return p;
}

failure_policy failure_policy::unknown_outcome(bool lands, caf::error err) {
  failure_policy p{kind::unknown_outcome};
  p.lands_ = lands;
  p.err_ = std::move(err);
  return p;
}

failure_policy failure_policy::delay(std::chrono::milliseconds d) {
  failure_policy p{kind::delay};
  p.delay_ = d;
  return p;
}

failure_policy& failure_policy::times(uint64_t n) {
  last_ = n == 0 ? first_ - 1 : first_ + n - 1;
  return *this;
}

failure_policy& failure_policy::on_call(uint64_t n) {
  first_ = n;
  last_ = n;
  return *this;
}

failure_policy&
failure_policy::when(std::function<bool(const store_call&)> pred) {
  pred_ = std::move(pred);
  return *this;
}

failure_policy::action failure_policy::decide(bool matched) {
  if (kind_ == kind::pass || !matched)
    return action::pass;
  auto n = ++seen_;
  if (n < first_ || n > last_)
    return action::pass;
  switch (kind_) {
    case kind::fail:
    case kind::reject: return action::fail;
    case kind::unknown_outcome: return action::unknown_outcome;
    case kind::delay: return action::delay;
    case kind::pass: break;
  }
  return action::pass;
}

caf::error failure_policy::error_for(const store_call& call) const {
  if (err_)
    return err_;
  auto what = to_string(call.op) + " of actor \"" + call.actor_id + "\"";
  switch (kind_) {
    case kind::reject:
      return make_persistence_error(persistence_error::invalid_argument,
                                    "rejected by the test's failure policy: "
                                      + what);
    case kind::unknown_outcome:
      return make_persistence_error(persistence_error::unknown_outcome,
                                    "injected unknown outcome: " + what);
    default:
      return make_persistence_error(persistence_error::unavailable,
                                    "injected failure: " + what);
  }
}

} // namespace aether::testkit
