#include "aether/runtime/persistent_actor_base.hpp"

// Pipelined persists (phase running with persists in flight): events
// applied at once, replies in order once stored, recovery after a failure.

#include "aether/core/error.hpp"
#include "aether/runtime/runtime_error.hpp"
#include "persistent_actor_detail.hpp"

#include <algorithm>

namespace aether {

using namespace detail;

void persistent_actor_base::start_pipelined(event_batch events,
                                            std::function<void()> applied,
                                            done_fn done) {
  // The events are applied at once; the reply waits for the store.
  for (auto& e : *events) {
    caf::error err;
    try {
      err = apply_event(e);
    } catch (...) {
      err = user_code_error("apply of event " + std::to_string(e.version)
                              + " (\"" + e.type + "\", id " + e.id
                              + ") before it was stored (pipelined; "
                                "nothing of its batch was stored)",
                            std::current_exception());
    }
    if (err) {
      // Nothing of this batch is stored; the state may hold part of it:
      // rebuild it from the store once the persists before it are done.
      done(err);
      fail_pipeline(err);
      settle_pipeline();
      return;
    }
    version_ = e.version;
    ++unstored_;
  }
  update_state_bytes();
  applied();
  auto id = ++pending_persist_id_;
  auto deadline = persist_deadline();
  pipeline_.push_back(pipelined_persist{id, events, std::move(done),
                                        clock::now(), deadline, std::nullopt});
  if (auto res = append_events(*events, id, deadline))
    pipelined_done(id, std::move(*res));
}

void persistent_actor_base::pipelined_done(uint64_t id, append_outcome res) {
  auto i = std::find_if(pipeline_.begin(), pipeline_.end(),
                        [id](const pipelined_persist& p) {
                          return p.id == id;
                        });
  if (i == pipeline_.end() || i->outcome)
    return; // a late answer after the timeout, or the timeout after it
  i->outcome = std::move(res);
  settle_pipeline();
}

void persistent_actor_base::fail_pipeline(const caf::error& err) {
  if (!pipeline_failed_) {
    pipeline_failed_ = true;
    pipeline_error_ = err;
    log("\"" + persistence_id_ + "\": a pipelined persist failed ("
        + describe(err) + "); recovering from the store once the "
        + std::to_string(pipeline_.size()) + " persist(s) in flight answered");
  }
  // Every later persist was computed on a state that holds the failed one:
  // its reply must not go out as a success.
  for (auto& p : pipeline_) {
    if (!p.done)
      continue;
    auto done = std::move(p.done);
    p.done = nullptr;
    done(make_persistence_error(
      persistence_error::unknown_outcome,
      "actor \"" + persistence_id_ + "\": an earlier pipelined persist failed ("
        + describe(err) + "); this one (events "
        + std::to_string(p.events->front().version) + ".."
        + std::to_string(p.events->back().version)
        + ") was in flight and may or may not be stored; the actor recovers "
          "from the store"));
  }
}

void persistent_actor_base::settle_pipeline() {
  auto& m = *ctx_->metrics;
  while (!pipeline_.empty() && pipeline_.front().outcome) {
    auto p = std::move(pipeline_.front());
    pipeline_.pop_front();
    auto& res = *p.outcome;
    unstored_ -= static_cast<int64_t>(p.events->size());
    if (!res) {
      m.persist_failures += 1;
      if (is(res.error(), persistence_error::version_conflict))
        m.version_conflicts += 1;
      if (p.done)
        p.done(res.error());
      fail_pipeline(res.error());
      continue;
    }
    m.persist_latency.record(clock::now() - p.start);
    m.events_persisted += p.events->size();
    publish_stored(*p.events);
    if (!p.done)
      continue; // answered after an earlier failure
    position_ = res->position;
    for (auto& e : *p.events)
      if (count_stored(e))
        snapshot_due_ = true;
    p.done(caf::none);
  }
  if (!pipeline_.empty())
    return;
  // The state holds only stored events now.
  unstored_ = 0;
  if (pipeline_failed_) {
    pipeline_failed_ = false;
    snapshot_due_ = false;
    auto err = std::move(pipeline_error_);
    pipeline_error_ = caf::error{};
    if (outcome_known(err) || is(err, runtime_error::user_code_failed))
      start_recovery();
    else
      on_unknown_outcome(err);
    return;
  }
  if (snapshot_due_) {
    snapshot_due_ = false;
    take_snapshot();
  }
}

} // namespace aether
