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
  auto& f = flight();
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
    ++f.unstored;
  }
  update_state_bytes();
  applied();
  auto id = ++pending_persist_id_;
  auto deadline = persist_deadline();
  f.pipeline.push_back(pipelined_persist{id, events, std::move(done),
                                         clock::now(), deadline, std::nullopt});
  if (auto res = append_events(*events, id, deadline))
    pipelined_done(id, std::move(*res));
}

void persistent_actor_base::pipelined_done(uint64_t id, append_outcome res) {
  if (!flight_)
    return; // a late answer
  auto& f = *flight_;
  auto i = std::find_if(f.pipeline.begin(), f.pipeline.end(),
                        [id](const pipelined_persist& p) {
                          return p.id == id;
                        });
  if (i == f.pipeline.end() || i->outcome)
    return; // a late answer after the timeout, or the timeout after it
  i->outcome = std::move(res);
  settle_pipeline();
}

void persistent_actor_base::fail_pipeline(const caf::error& err) {
  auto& f = flight();
  if (!f.pipeline_failed) {
    f.pipeline_failed = true;
    f.pipeline_error = err;
    log("\"" + persistence_id_ + "\": a pipelined persist failed ("
        + describe(err) + "); recovering from the store once the "
        + std::to_string(f.pipeline.size()) + " persist(s) in flight answered");
  }
  // Every later persist was computed on a state that holds the failed one:
  // its reply must not go out as a success.
  for (auto& p : f.pipeline) {
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
  auto& f = flight();
  auto& m = *ctx_->metrics;
  while (!f.pipeline.empty() && f.pipeline.front().outcome) {
    auto p = std::move(f.pipeline.front());
    f.pipeline.pop_front();
    auto& res = *p.outcome;
    f.unstored -= static_cast<int64_t>(p.events->size());
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
        f.snapshot_due = true;
    p.done(caf::none);
  }
  if (!f.pipeline.empty())
    return;
  // The state holds only stored events now.
  f.unstored = 0;
  if (f.pipeline_failed) {
    f.pipeline_failed = false;
    f.snapshot_due = false;
    auto err = std::move(f.pipeline_error);
    f.pipeline_error = caf::error{};
    if (outcome_known(err) || is(err, runtime_error::user_code_failed))
      start_recovery();
    else
      on_unknown_outcome(err);
    return;
  }
  if (f.snapshot_due) {
    f.snapshot_due = false;
    take_snapshot();
  }
}

} // namespace aether
