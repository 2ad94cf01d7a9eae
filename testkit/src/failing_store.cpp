#include "aether/testkit/failing_store.hpp"

#include <utility>

namespace aether::testkit {

namespace {

size_t index(store_operation op) {
  return static_cast<size_t>(op);
}

} // namespace

failing_store::failing_store(std::shared_ptr<event_store_with_snapshots> inner,
                             completion mode)
  : forwarding_store(std::move(inner)), policies_{failure_policy::pass(),
                                                  failure_policy::pass(),
                                                  failure_policy::pass(),
                                                  failure_policy::pass(),
                                                  failure_policy::pass(),
                                                  failure_policy::pass()},
    mode_(mode) {
  // nop
}

failing_store::~failing_store() {
  {
    std::unique_lock<std::mutex> lock{mtx_};
    stopping_ = true;
    cv_.notify_all();
  }
  if (delayer_.joinable())
    delayer_.join();
}

void failing_store::set(store_operation op, failure_policy policy) {
  std::lock_guard<std::mutex> guard{mtx_};
  policies_[index(op)] = std::move(policy);
}

void failing_store::clear() {
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto& p : policies_)
    p = failure_policy::pass();
}

uint64_t failing_store::calls(store_operation op) const {
  std::lock_guard<std::mutex> guard{mtx_};
  return calls_[index(op)];
}

size_t failing_store::delayed() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return queue_.size() + (busy_ ? 1 : 0);
}

bool failing_store::wait_delayed(std::chrono::milliseconds limit) {
  std::unique_lock<std::mutex> lock{mtx_};
  return cv_.wait_for(lock, limit, [this] {
    return queue_.empty() && !busy_;
  });
}

failing_store::decision failing_store::decide(store_call call) {
  std::lock_guard<std::mutex> guard{mtx_};
  call.number = ++calls_[index(call.op)];
  auto& policy = policies_[index(call.op)];
  decision d;
  d.act = policy.decide(call);
  if (d.act == failure_policy::action::fail
      || d.act == failure_policy::action::unknown_outcome)
    d.err = policy.error_for(call);
  d.lands = policy.lands();
  d.delay = policy.delay_time();
  return d;
}

template <class R, class F>
R failing_store::guarded(store_call call, F forward) {
  auto d = decide(std::move(call));
  switch (d.act) {
    case failure_policy::action::fail: return R{std::move(d.err)};
    case failure_policy::action::unknown_outcome:
      if (d.lands)
        static_cast<void>(forward());
      return R{std::move(d.err)};
    case failure_policy::action::delay:
      std::this_thread::sleep_for(d.delay);
      break;
    case failure_policy::action::pass: break;
  }
  return forward();
}

void failing_store::append(std::vector<event> batch, append_callback done) {
  store_call call;
  call.op = store_operation::append;
  if (!batch.empty()) {
    call.actor_id = batch.front().actor_id;
    call.version = batch.front().version;
  }
  call.batch = &batch;
  auto d = decide(std::move(call));
  switch (d.act) {
    case failure_policy::action::fail: done(std::move(d.err)); return;
    case failure_policy::action::unknown_outcome:
      if (d.lands) {
        forward_append(std::move(batch),
                       [done = std::move(done),
                        err = std::move(d.err)](caf::expected<append_result>) {
                         done(err);
                       });
      } else {
        done(std::move(d.err));
      }
      return;
    case failure_policy::action::delay:
      if (mode_ == completion::caller) {
        std::this_thread::sleep_for(d.delay);
        forward_append(std::move(batch), std::move(done));
        return;
      }
      enqueue({std::chrono::steady_clock::now() + d.delay, std::move(batch),
               std::move(done)});
      return;
    case failure_policy::action::pass: break;
  }
  {
    // Behind a delayed append, a passing one waits its turn.
    std::unique_lock<std::mutex> lock{mtx_};
    if (!queue_.empty() || busy_) {
      lock.unlock();
      enqueue(
        {std::chrono::steady_clock::now(), std::move(batch), std::move(done)});
      return;
    }
  }
  forward_append(std::move(batch), std::move(done));
}

void failing_store::forward_append(std::vector<event> batch,
                                   append_callback done) {
  if (mode_ == completion::caller)
    done(inner().save_events(std::move(batch)));
  else
    forwarding_store::append(std::move(batch), std::move(done));
}

void failing_store::enqueue(queued_append x) {
  std::lock_guard<std::mutex> guard{mtx_};
  queue_.push_back(std::move(x));
  if (!delayer_.joinable())
    delayer_ = std::thread{[this] {
      run_delayed();
    }};
  cv_.notify_all();
}

void failing_store::run_delayed() {
  std::unique_lock<std::mutex> lock{mtx_};
  for (;;) {
    cv_.wait(lock, [this] {
      return stopping_ || !queue_.empty();
    });
    if (queue_.empty())
      return; // stopping, nothing left
    auto due = queue_.front().due;
    // Wait for the head's time (a stop does not cut a delay short: every
    // delayed append completes).
    cv_.wait_until(lock, due, [] {
      return false;
    });
    auto x = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    forward_append(std::move(x.batch), std::move(x.done));
    lock.lock();
    busy_ = false;
    cv_.notify_all();
  }
}

caf::expected<std::vector<event>>
failing_store::get_events(const std::string& actor_id, event_range range) {
  return guarded<caf::expected<std::vector<event>>>(
    {store_operation::read, actor_id, nullptr, range.from_version}, [&] {
      return forwarding_store::get_events(actor_id, range);
    });
}

caf::expected<replay_result>
failing_store::get_events_with_errors(const std::string& actor_id,
                                      event_range range) {
  return guarded<caf::expected<replay_result>>(
    {store_operation::read, actor_id, nullptr, range.from_version}, [&] {
      return forwarding_store::get_events_with_errors(actor_id, range);
    });
}

caf::expected<int64_t>
failing_store::get_latest_version(const std::string& actor_id) {
  return guarded<caf::expected<int64_t>>(
    {store_operation::read, actor_id, nullptr, 0}, [&] {
      return forwarding_store::get_latest_version(actor_id);
    });
}

caf::error failing_store::delete_events_to(const std::string& actor_id,
                                           int64_t version) {
  return guarded<caf::error>(
    {store_operation::delete_events, actor_id, nullptr, version}, [&] {
      return forwarding_store::delete_events_to(actor_id, version);
    });
}

caf::error failing_store::save_snapshot(actor_snapshot s) {
  store_call call{store_operation::save_snapshot, s.actor_id, nullptr,
                  s.version};
  return guarded<caf::error>(std::move(call), [&] {
    return forwarding_store::save_snapshot(s);
  });
}

caf::expected<std::optional<actor_snapshot>>
failing_store::get_latest_snapshot(const std::string& actor_id,
                                   snapshot_criteria criteria) {
  return guarded<caf::expected<std::optional<actor_snapshot>>>(
    {store_operation::load_snapshot, actor_id, nullptr, 0}, [&] {
      return forwarding_store::get_latest_snapshot(actor_id, criteria);
    });
}

caf::expected<size_t>
failing_store::delete_snapshots(const std::string& actor_id,
                                snapshot_criteria criteria) {
  return guarded<caf::expected<size_t>>(
    {store_operation::delete_snapshots, actor_id, nullptr, 0}, [&] {
      return forwarding_store::delete_snapshots(actor_id, criteria);
    });
}

} // namespace aether::testkit
