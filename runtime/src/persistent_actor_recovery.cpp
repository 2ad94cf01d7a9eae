#include "aether/runtime/persistent_actor_base.hpp"

// Phases awaiting_recovery (a slot of the recovery limiter), recovering (the
// newest snapshot that decodes, then the events after it in batches) and
// restarting (the backoff before recovering again).

#include "aether/core/error.hpp"
#include "aether/runtime/runtime_error.hpp"
#include "aether/snapshot/recovery.hpp"
#include "persistent_actor_detail.hpp"

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <caf/actor_cast.hpp>
#include <caf/send.hpp>
#include <limits>

namespace aether {

namespace {

/// What the first recovery step returns.
struct snapshot_step {
  caf::expected<snapshot_load_result> loaded = caf::error{};
  caf::expected<int64_t> latest = caf::error{};
  /// The JSON size of the snapshot decoded.
  uint64_t snapshot_bytes = 0;
};

/// Points `state` at the JSON to decode for snapshot `s`: its own when its
/// schema version is the state's, else `upcast(from, state)` stored in
/// `storage`. A newer version, an older one without an upcaster and an
/// upcaster that throws are errors: the snapshot is skipped.
caf::error snapshot_state_for(
  const actor_snapshot& s, int64_t schema,
  const std::function<boost::json::value(int64_t, const boost::json::value&)>&
    upcast,
  boost::json::value& storage, const boost::json::value*& state) {
  if (s.schema_version == schema)
    return caf::none;
  auto what = "schema version " + std::to_string(s.schema_version)
              + ", the state's is " + std::to_string(schema);
  if (s.schema_version > schema)
    return make_persistence_error(persistence_error::corrupt_data,
                                  what + " (written by newer code)");
  if (!upcast)
    return make_persistence_error(persistence_error::corrupt_data,
                                  what + " and no snapshot_upcaster is set");
  try {
    storage = upcast(s.schema_version, s.state);
  } catch (...) {
    return make_user_code_error("snapshot_upcaster from " + what,
                                std::current_exception());
  }
  state = &storage;
  return caf::none;
}

} // namespace

using namespace detail;

void persistent_actor_base::start_recovery() {
  enter(actor_phase::awaiting_recovery);
  if (auto& limiter = ctx_->recoveries) {
    caf::weak_actor_ptr weak{ctrl()};
    auto granted = limiter->acquire(id(), [weak] {
      auto self = weak.lock();
      if (!self)
        return false;
      caf::anon_send(caf::actor_cast<caf::actor>(self),
                     recovery_slot_atom::value);
      return true;
    });
    if (!granted)
      return; // (recovery_slot_atom) arrives when the slot is free
  }
  begin_recovery();
}

void persistent_actor_base::begin_recovery() {
  enter(actor_phase::recovering);
  recovery_start_ = clock::now();
  reset_state();
  version_ = 0;
  if (flight_)
    flight_->unstored = 0;
  position_ = 0;
  replayed_ = 0;
  recovered_snapshot_ = 0;
  // The state decoded from the snapshot that recovery starts from: a fresh
  // state per attempt, so a snapshot that fails half-way (or throws) leaves
  // nothing behind in the state decoded from an older one.
  auto box = std::make_shared<std::unique_ptr<state_box>>();
  auto make_box = codec().make_box;
  auto decode = codec().decode;
  auto store = ctx_->store;
  auto id = persistence_id_;
  auto schema = opts_->state_schema_version;
  auto upcast = opts_->snapshot_upcaster;
  auto job = make_io_job([store, id, box, make_box, decode, schema, upcast] {
    snapshot_step step;
    auto bytes = &step.snapshot_bytes;
    step.latest = store->get_latest_version(id);
    if (decode == nullptr) {
      // No snapshot codec: a full replay.
      step.loaded = snapshot_load_result{};
      return step;
    }
    step.loaded = load_snapshot_with_fallback(
      *store, id, std::numeric_limits<int64_t>::max(),
      [&](const actor_snapshot& s) -> caf::error {
        auto fresh = make_box();
        // A snapshot of another schema version is upcast or skipped.
        const boost::json::value* state = &s.state;
        boost::json::value upcast_state;
        if (auto err = snapshot_state_for(s, schema, upcast, upcast_state,
                                          state))
          return err;
        try {
          if (auto err = decode(*fresh, *state))
            return err;
        } catch (...) {
          return make_user_code_error("from_snapshot",
                                      std::current_exception());
        }
        *box = std::move(fresh);
        *bytes = boost::json::serialize(s.state).size();
        return caf::none;
      });
    return step;
  });
  run_io(
    job, opts_->recovery_timeout,
    [this, job, box]() {
      auto& step = job->result();
      if (!step.latest)
        return fail_recovery(step.latest.error());
      if (!step.loaded)
        return fail_recovery(step.loaded.error());
      auto& loaded = *step.loaded;
      if (loaded.fallbacks > 0) {
        ctx_->metrics->snapshot_fallbacks += loaded.fallbacks;
        for (auto& reason : loaded.fallback_reasons)
          log("snapshot fallback: " + reason);
      }
      recovery_target_ = *step.latest;
      if (loaded.snapshot && *box) {
        adopt_state(**box);
        version_ = loaded.snapshot->version;
        position_ = loaded.snapshot->store_position;
        recovered_snapshot_ = version_;
        snapshot_bytes_ = step.snapshot_bytes;
      }
      replay_next();
    },
    [this](caf::error& err) {
      fail_recovery(err);
    });
}

void persistent_actor_base::replay_next() {
  if (version_ >= recovery_target_)
    return finish_recovery();
  auto store = ctx_->store;
  auto id = persistence_id_;
  event_range range;
  range.from_version = version_ + 1;
  range.to_version = recovery_target_;
  range.max_count = opts_->recovery_batch_size;
  range.after_position = position_;
  auto job = make_io_job([store, id, range] {
    return store->get_events_with_errors(id, range);
  });
  run_io(
    job, opts_->recovery_timeout,
    [this, job]() {
      auto& batch = job->result();
      if (!batch)
        return fail_recovery(batch.error());
      if (batch->events.empty() && batch->errors.empty())
        return fail_recovery(make_persistence_error(
          persistence_error::corrupt_data,
          "cannot recover actor \"" + persistence_id_ + "\": events "
            + std::to_string(version_ + 1) + " to "
            + std::to_string(recovery_target_) + " are missing"));
      auto checked = check_replay_batch(persistence_id_, *batch, version_ + 1);
      if (!checked)
        return fail_recovery(checked.error());
      // Schema evolution: `apply` sees the current shape (zero or more
      // events for one stored event).
      std::vector<event> upcast;
      if (opts_->upcasters)
        for (auto& stored : batch->events)
          if (auto err = event_upcasters::each_current(opts_->upcasters, stored,
                                                       [&](const event& e) {
                                                         upcast.push_back(e);
                                                       }))
            return fail_recovery(
              prefix_error("actor \"" + persistence_id_ + "\": recovery", err));
      auto& to_apply = opts_->upcasters ? upcast : batch->events;
      for (auto& e : to_apply) {
        try {
          if (auto err = apply_event(e))
            return fail_recovery(
              prefix_error("actor \"" + persistence_id_ + "\": recovery", err));
        } catch (...) {
          return fail_recovery(user_code_error(
            "apply of event " + std::to_string(e.version) + " (\"" + e.type
              + "\", id " + e.id + ") during recovery",
            std::current_exception()));
        }
      }
      version_ = batch->events.back().version;
      position_ = batch->last_position;
      replayed_ += static_cast<int64_t>(batch->events.size());
      replay_next();
    },
    [this](caf::error& err) {
      fail_recovery(err);
    });
}

void persistent_actor_base::finish_recovery() {
  if (ctx_->recoveries)
    ctx_->recoveries->release(id());
  enter(actor_phase::running);
  restarts_ = 0;
  last_replayed_ = replayed_;
  auto& m = *ctx_->metrics;
  m.recoveries += 1;
  m.events_replayed += static_cast<uint64_t>(replayed_);
  m.recovery_duration.record(clock::now() - recovery_start_);
  events_since_snapshot_ = replayed_;
  last_snapshot_time_ = aether::now();
  update_state_bytes();
  auto limit = opts_->snapshots.max_replay();
  if (limit && replayed_ > *limit)
    take_snapshot();
  try {
    recovery_completed(version_);
  } catch (...) {
    stop_with(user_code_error("recovery_completed", std::current_exception()));
  }
}

void persistent_actor_base::fail_recovery(caf::error err) {
  if (ctx_->recoveries)
    ctx_->recoveries->release(id());
  ctx_->metrics->recovery_failures += 1;
  if (err == caf::sec::request_timeout)
    err = make_runtime_error(
      runtime_error::recovery_timeout,
      "recovery of actor \"" + persistence_id_ + "\" made no progress within "
        + std::to_string(opts_->recovery_timeout.count()) + " ms");
  log("recovery of \"" + persistence_id_ + "\" failed: " + describe(err));
  // Reads change nothing: a read that timed out (unknown outcome) is as
  // safe to retry as one that found the store unavailable.
  if (opts_->on_unknown_outcome == failure_mode::restart
      && (is(err, persistence_error::unavailable)
          || is(err, persistence_error::unknown_outcome)
          || is(err, runtime_error::recovery_timeout)))
    return on_unknown_outcome(err);
  stop_with(err);
}

void persistent_actor_base::on_unknown_outcome(const caf::error& err) {
  if (opts_->on_unknown_outcome == failure_mode::stop
      || restarts_ >= opts_->max_restarts) {
    stop_with(err);
    return;
  }
  auto delay = opts_->restart_backoff;
  for (size_t i = 0; i < restarts_ && delay < opts_->restart_max_backoff; ++i)
    delay *= 2;
  delay = std::min(delay, opts_->restart_max_backoff);
  ++restarts_;
  log("\"" + persistence_id_ + "\" restarts in " + std::to_string(delay.count())
      + " ms after: " + describe(err));
  // Commands wait in the stash until the restart message arrives.
  enter(actor_phase::restarting);
  delayed_send(this, delay, restart_atom::value);
}

} // namespace aether
