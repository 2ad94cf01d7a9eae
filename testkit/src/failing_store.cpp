#include "aether/testkit/failing_store.hpp"

#include "aether/core/error.hpp"

#include <condition_variable>
#include <deque>
#include <exception>
#include <thread>
#include <utility>

namespace aether::testkit {

namespace {

size_t index(store_operation op) {
  return static_cast<size_t>(op);
}

} // namespace

/// An append waiting in the line: due at `due`, then passed to the inner
/// store or completed with `err` (after storing it, with `lands`).
struct failing_store::delay_line {
  struct item {
    std::chrono::steady_clock::time_point due;
    std::vector<event> batch;
    append_callback done;
    failure_policy::action act = failure_policy::action::pass;
    caf::error err;
    bool lands = false;
  };

  std::shared_ptr<event_store_with_snapshots> inner;
  std::mutex mtx;
  std::condition_variable cv;
  std::deque<item> queue;
  size_t in_flight = 0; // taken from the queue, not completed yet
  bool stopping = false;
  std::thread worker;

  explicit delay_line(std::shared_ptr<event_store_with_snapshots> store)
    : inner(std::move(store)) {
    // nop
  }

  using append_fn = std::function<void(std::vector<event>, append_callback)>;

  /// Carries out one append the way its decision says, on this thread, with
  /// `append` for the inner store; `finished` runs after its completion.
  static void complete(const append_fn& append, item x,
                       std::function<void()> finished) {
    using action = failure_policy::action;
    if (x.act == action::fail
        || (x.act == action::unknown_outcome && !x.lands)) {
      x.done(std::move(x.err));
      finished();
      return;
    }
    append_callback done;
    if (x.act == action::unknown_outcome)
      done = [d = std::move(x.done), err = std::move(x.err),
              finished](caf::expected<append_result>) {
        d(err);
        finished();
      };
    else
      done = [d = std::move(x.done),
              finished](caf::expected<append_result> res) {
        d(std::move(res));
        finished();
      };
    append(std::move(x.batch), std::move(done));
  }

  /// The inner store's own `append` (completes where the store does).
  static append_fn background(std::shared_ptr<event_store_with_snapshots> s) {
    return [s](std::vector<event> batch, append_callback done) {
      s->append(std::move(batch), std::move(done));
    };
  }

  static void run(const std::shared_ptr<delay_line>& self) {
    std::unique_lock<std::mutex> lock{self->mtx};
    for (;;) {
      self->cv.wait(lock, [&] {
        return self->stopping || !self->queue.empty();
      });
      if (self->queue.empty())
        return; // stopping, nothing left
      // A stop does not cut a delay short: every queued append completes.
      auto due = self->queue.front().due;
      lock.unlock();
      std::this_thread::sleep_until(due);
      lock.lock();
      auto x = std::move(self->queue.front());
      self->queue.pop_front();
      ++self->in_flight;
      lock.unlock();
      std::weak_ptr<delay_line> weak = self;
      complete(background(self->inner), std::move(x), [weak] {
        if (auto line = weak.lock()) {
          std::lock_guard<std::mutex> guard{line->mtx};
          --line->in_flight;
          line->cv.notify_all();
        }
      });
      lock.lock();
    }
  }
};

failing_store::failing_store(std::shared_ptr<event_store_with_snapshots> inner,
                             completion mode)
  : forwarding_store(inner),
    mode_(mode), policies_{failure_policy::pass(), failure_policy::pass(),
                           failure_policy::pass(), failure_policy::pass(),
                           failure_policy::pass(), failure_policy::pass()},
    line_(std::make_shared<delay_line>(inner)) {
  // nop
}

failing_store::~failing_store() {
  std::thread worker;
  {
    std::lock_guard<std::mutex> guard{line_->mtx};
    line_->stopping = true;
    line_->cv.notify_all();
    worker = std::move(line_->worker);
  }
  if (!worker.joinable())
    return;
  // The last reference may go on the worker itself (a completion that
  // drops it): the worker then finishes the queue on its own.
  if (worker.get_id() == std::this_thread::get_id())
    worker.detach();
  else
    worker.join();
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
  std::lock_guard<std::mutex> guard{line_->mtx};
  return line_->queue.size() + line_->in_flight;
}

bool failing_store::wait_delayed(std::chrono::milliseconds limit) {
  std::unique_lock<std::mutex> lock{line_->mtx};
  return line_->cv.wait_for(lock, limit, [this] {
    return line_->queue.empty() && line_->in_flight == 0;
  });
}

failing_store::decision failing_store::decide(store_call call) {
  std::function<bool(const store_call&)> pred;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    call.number = ++calls_[index(call.op)];
    pred = policies_[index(call.op)].predicate();
  }
  // The predicate runs outside the lock: it may call this store.
  bool matched = true;
  decision d;
  if (pred) {
    try {
      matched = pred(call);
    } catch (const std::exception& e) {
      d.act = failure_policy::action::fail;
      d.err = make_persistence_error(persistence_error::store_failure,
                                     std::string{"the failure policy's "
                                                 "predicate threw: "}
                                       + e.what());
      return d;
    } catch (...) {
      d.act = failure_policy::action::fail;
      d.err = make_persistence_error(persistence_error::store_failure,
                                     "the failure policy's predicate threw");
      return d;
    }
  }
  std::lock_guard<std::mutex> guard{mtx_};
  auto& policy = policies_[index(call.op)];
  d.act = policy.decide(matched);
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
  delay_line::item x{std::chrono::steady_clock::now(),
                     std::move(batch),
                     std::move(done),
                     d.act,
                     std::move(d.err),
                     d.lands};
  if (mode_ == completion::caller) {
    // On this thread, in call order; a delay sleeps here. The inner store
    // completes through its blocking wrapper.
    if (d.act == failure_policy::action::delay)
      std::this_thread::sleep_for(d.delay);
    if (x.act == failure_policy::action::delay)
      x.act = failure_policy::action::pass;
    auto blocking = [this](std::vector<event> b, append_callback cb) {
      cb(inner().save_events(std::move(b)));
    };
    delay_line::complete(blocking, std::move(x), [] {});
    return;
  }
  std::unique_lock<std::mutex> lock{line_->mtx};
  if (d.act == failure_policy::action::delay) {
    x.due += d.delay;
    x.act = failure_policy::action::pass;
  } else if (line_->queue.empty() && line_->in_flight == 0) {
    // Nothing delayed ahead of it: complete it now.
    lock.unlock();
    delay_line::complete(delay_line::background(line_->inner), std::move(x),
                         [] {});
    return;
  }
  // Delayed, or behind a delayed append: the line keeps the order.
  line_->queue.push_back(std::move(x));
  if (!line_->worker.joinable()) {
    line_->worker = std::thread{[line = line_] {
      delay_line::run(line);
    }};
  }
  line_->cv.notify_all();
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
