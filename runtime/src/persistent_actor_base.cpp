#include "aether/runtime/persistent_actor_base.hpp"

#include "aether/core/error.hpp"
#include "aether/core/uuid.hpp"
#include "aether/persistence/validation.hpp"
#include "aether/runtime/event_bus.hpp"
#include "aether/runtime/event_stored.hpp"
#include "aether/runtime/io_job.hpp"
#include "aether/runtime/runtime_error.hpp"
#include "aether/snapshot/recovery.hpp"
#include "aether/snapshot/retention.hpp"

#include <algorithm>
#include <atomic>
#include <caf/atom.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/sec.hpp>
#include <caf/send.hpp>
#include <iostream>

namespace aether {

namespace {

using restart_atom = caf::atom_constant<caf::atom("ae_restart")>;
using persist_done_atom = caf::atom_constant<caf::atom("ae_pdone")>;
using persist_timeout_atom = caf::atom_constant<caf::atom("ae_ptime")>;
using stop_atom = caf::atom_constant<caf::atom("ae_stop")>;
using exit_timeout_atom = caf::atom_constant<caf::atom("ae_exitto")>;

/// Carries the result of an append back to the actor.
struct async_append : io_job {
  caf::expected<append_result> result = caf::error{};
  void run() override {
    // nop: filled in by the store's completion callback
  }
  /// Called by the completion after it set `result`: true when `append`
  /// had not returned yet (the caller then finishes in place).
  bool completed_inline() {
    int expected = 0;
    return state.compare_exchange_strong(expected, 1);
  }
  /// Called once `append` returned: true when the completion is still to
  /// come (it then arrives as a message).
  bool returned() {
    int expected = 0;
    return state.compare_exchange_strong(expected, 2);
  }
  std::atomic<int> state{0};
};

/// What the first recovery step returns.
struct snapshot_step {
  caf::expected<snapshot_load_result> loaded = caf::error{};
  caf::expected<int64_t> latest = caf::error{};
};

bool outcome_known(const caf::error& err) {
  return is(err, persistence_error::invalid_argument)
         || is(err, persistence_error::version_conflict)
         || is(err, persistence_error::unavailable);
}

} // namespace

persistent_actor_base::state_box::~state_box() = default;

persistent_actor_base::persistent_actor_base(caf::actor_config& cfg,
                                             std::string persistence_id,
                                             store_context ctx,
                                             persistence_options opts)
  : caf::event_based_actor(cfg), persistence_id_(std::move(persistence_id)),
    ctx_(std::move(ctx)), opts_(std::move(opts)) {
  // nop
}

persistent_actor_base::~persistent_actor_base() = default;

void persistent_actor_base::recovery_completed(int64_t) {
  // nop
}

caf::behavior persistent_actor_base::make_behavior() {
  auto err = validate_actor_id(persistence_id_);
  if (!err)
    err = opts_.validate();
  if (!err)
    err = check_snapshot_setup();
  if (err) {
    // Requests already queued get this error (not CAF's generic
    // request_receiver_down): the actor stops once it answered them.
    stop_with(err);
    return {[](stop_atom) {
      // nop: consume() handles every message of a stopping actor
    }};
  }
  start_recovery();
  return make_commands();
}

caf::error persistent_actor_base::check_snapshot_setup() const {
  auto& policy = opts_.snapshots;
  if (codec().decode == nullptr && policy.enabled())
    return make_runtime_error(
      runtime_error::invalid_option,
      "actor \"" + persistence_id_
        + "\": snapshots: the policy takes snapshots but the state has no "
          "snapshot codec (describe it with BOOST_DESCRIBE_STRUCT or give it "
          "to_snapshot/from_snapshot)");
  if (auto want = policy.state_type(); want && *want != state_type_id())
    return make_runtime_error(
      runtime_error::invalid_option,
      "actor \"" + persistence_id_
        + "\": snapshots: a `when` rule of the policy reads a state of "
          "another type than this actor's (it would never fire)");
  return caf::none;
}

caf::error persistent_actor_base::user_code_error(const std::string& what,
                                                  std::exception_ptr ex) const {
  return make_user_code_error("actor \"" + persistence_id_ + "\": " + what,
                              std::move(ex));
}

caf::actor persistent_actor_base::worker() const {
  return ctx_.io->worker_for(persistence_id_);
}

void persistent_actor_base::log(const std::string& line) const {
  if (opts_.log)
    opts_.log(line);
  else
    std::cerr << "aether: " << line << std::endl;
}

bool persistent_actor_base::forget_own_request(uint64_t id) {
  auto i = std::find(own_requests_.begin(), own_requests_.end(), id);
  if (i == own_requests_.end())
    return false;
  *i = own_requests_.back();
  own_requests_.pop_back();
  if (own_requests_.empty())
    std::vector<uint64_t>{}.swap(own_requests_);
  return true;
}

caf::invoke_message_result
persistent_actor_base::consume(caf::mailbox_element& x) {
  auto& msg = x.content();
  if (stop_reason_) {
    // Stopping: answer every request with the reason until the stop
    // message (queued behind them) arrives.
    if (msg.match_elements<stop_atom>()) {
      quit(stop_reason_);
    } else if (msg.match_elements<caf::exit_msg>()
               && msg.get_as<caf::exit_msg>(0).reason
                    == caf::exit_reason::kill) {
      quit(caf::exit_reason::kill);
    } else if (!x.mid.is_response()) {
      reply_error(x, stop_reason_);
    }
    return caf::invoke_message_result::consumed;
  }
  if (msg.match_elements<restart_atom>()) {
    if (restarting_) {
      restarting_ = false;
      start_recovery();
    }
    return caf::invoke_message_result::consumed;
  }
  if (msg.match_elements<exit_timeout_atom, uint64_t>()) {
    if (held_exit_ && msg.get_as<uint64_t>(1) == held_exit_id_)
      process_held_exit();
    return caf::invoke_message_result::consumed;
  }
  if (msg.match_elements<persist_done_atom, uint64_t, io_job_ptr>()
      || msg.match_elements<persist_timeout_atom, uint64_t>()) {
    auto id = msg.get_as<uint64_t>(1);
    if (!pipeline_.empty()) {
      auto timeout = msg.match_element<persist_timeout_atom>(0);
      pipelined_done(
        id, timeout
              ? append_outcome{persist_timeout_error()}
              : static_cast<async_append&>(*msg.get_as<io_job_ptr>(2)).result);
      if (held_exit_ && pipeline_.empty())
        process_held_exit();
      drain();
    } else if (id == pending_persist_id_ && pending_persist_) {
      auto finish = std::move(pending_persist_);
      pending_persist_ = nullptr;
      if (msg.match_element<persist_timeout_atom>(0)) {
        finish(persist_timeout_error(), 0);
      } else {
        auto& res
          = static_cast<async_append&>(*msg.get_as<io_job_ptr>(2)).result;
        if (res)
          finish(caf::none, res->position);
        else
          finish(res.error(), 0);
      }
      if (held_exit_)
        process_held_exit();
      drain();
    }
    return caf::invoke_message_result::consumed;
  }
  if (msg.match_elements<caf::exit_msg>()) {
    // Kill acts at once; any other exit waits for the store call in flight
    // (bounded by exit_timeout), so a persist is not cut off half-way.
    if (msg.get_as<caf::exit_msg>(0).reason != caf::exit_reason::kill
        && store_call_in_flight() && !held_exit_) {
      held_exit_ = caf::make_mailbox_element(std::move(x.sender), x.mid,
                                             std::move(x.stages),
                                             x.move_content_to_message());
      held_exit_id_ += 1;
      delayed_send(this, opts_.exit_timeout, exit_timeout_atom::value,
                   held_exit_id_);
      return caf::invoke_message_result::consumed;
    }
    return caf::event_based_actor::consume(x);
  }
  if (x.mid.is_response() && forget_own_request(x.mid.integer_value())) {
    // The answer of one of this actor's own store calls.
    ++dispatches_;
    auto result = caf::event_based_actor::consume(x);
    if (held_exit_)
      process_held_exit();
    drain();
    return result;
  }
  if (!busy() && stash_.empty() && pipeline_.empty()
      && x.content().match_elements<passivate_atom>()) {
    auto* previous = current_mailbox_element();
    current_mailbox_element(&x);
    try_passivate(x);
    current_mailbox_element(previous);
    return caf::invoke_message_result::consumed;
  }
  if (busy() || !stash_.empty()) {
    // Commands, and responses to the command handlers' own requests (their
    // continuations read the state), wait until the state is complete.
    stash_.push_back(caf::make_mailbox_element(std::move(x.sender), x.mid,
                                               std::move(x.stages),
                                               x.move_content_to_message()));
    ctx_.metrics->commands_waiting += 1;
    // Not busy: the stash holds skipped messages; this one (the awaited
    // response, say) may be what they wait for.
    if (!busy())
      drain();
    return caf::invoke_message_result::consumed;
  }
  ++dispatches_;
  auto result = caf::event_based_actor::consume(x);
  drain();
  return result;
}

void persistent_actor_base::process_held_exit() {
  auto exit = std::move(held_exit_);
  held_exit_ = nullptr;
  auto* previous = current_mailbox_element();
  current_mailbox_element(exit.get());
  caf::event_based_actor::consume(*exit);
  current_mailbox_element(previous);
}

void persistent_actor_base::drain() {
  if (draining_)
    return;
  draining_ = true;
  // Messages the behavior skipped (a handler awaiting a response, a skip
  // default handler) stay, in order, and get another chance after every
  // message that was consumed.
  std::deque<caf::mailbox_element_ptr> skipped;
  while (!busy() && !stash_.empty() && !stop_reason_ && has_behavior()) {
    if (!pipeline_.empty()
        && stash_.front()->content().match_elements<passivate_atom>())
      break; // passivation waits until every persist is stored
    auto next = std::move(stash_.front());
    stash_.pop_front();
    auto* previous = current_mailbox_element();
    current_mailbox_element(next.get());
    if (try_passivate(*next)) {
      current_mailbox_element(previous);
      ctx_.metrics->commands_waiting -= 1;
      continue;
    }
    ++dispatches_;
    auto res = caf::event_based_actor::consume(*next);
    current_mailbox_element(previous);
    if (res == caf::invoke_message_result::skipped) {
      skipped.push_back(std::move(next));
      continue;
    }
    ctx_.metrics->commands_waiting -= 1;
    put_back(skipped);
  }
  put_back(skipped);
  draining_ = false;
}

bool persistent_actor_base::try_passivate(caf::mailbox_element& x) {
  if (!x.content().match_elements<passivate_atom>())
    return false;
  // Reads the current mailbox element: the caller sets it to `x`.
  caf::response_promise rp;
  if (x.mid.is_request())
    rp = make_response_promise();
  passivating_ = true;
  auto finish = [this, rp]() mutable {
    if (rp.pending())
      rp.deliver(version_);
    quit();
  };
  if (version_ > 0 && events_since_snapshot_ > 0)
    take_snapshot(std::move(finish));
  else
    finish();
  return true;
}

void persistent_actor_base::put_back(
  std::deque<caf::mailbox_element_ptr>& skipped) {
  // In front of the stash, in their order.
  stash_.insert(stash_.begin(), std::make_move_iterator(skipped.begin()),
                std::make_move_iterator(skipped.end()));
  skipped.clear();
}

void persistent_actor_base::reply_error(caf::mailbox_element& x,
                                        const caf::error& err) {
  if (!x.mid.is_request())
    return;
  if (auto& dest = x.sender)
    dest->enqueue(caf::make_mailbox_element(caf::strong_actor_ptr{ctrl()},
                                            x.mid.response_id(), {}, err),
                  context());
}

void persistent_actor_base::answer_waiting(const caf::error& err) {
  for (auto& e : stash_)
    reply_error(*e, err);
  ctx_.metrics->commands_waiting -= static_cast<int64_t>(stash_.size());
  stash_.clear();
  if (persist_reply_) {
    auto reply = std::move(persist_reply_);
    persist_reply_ = nullptr;
    reply(err);
  }
  for (auto& p : pipeline_)
    if (p.done) {
      auto reply = std::move(p.done);
      p.done = nullptr;
      reply(err);
    }
}

void persistent_actor_base::stop_with(const caf::error& err) {
  if (stop_reason_)
    return;
  log("\"" + persistence_id_ + "\" stops: " + describe(err));
  stop_reason_ = err;
  answer_waiting(err);
  held_exit_ = nullptr;
  caf::anon_send(caf::actor_cast<caf::actor>(this), stop_atom::value);
}

void persistent_actor_base::on_exit() {
  if (ctx_.metrics) {
    auto reason = stop_reason_;
    if (!reason)
      reason = make_runtime_error(
        runtime_error::actor_stopped,
        "actor \"" + persistence_id_ + "\" stopped ("
          + (fail_state() ? caf::to_string(fail_state()) : "normal exit")
          + ") before it answered"
          + (persist_reply_ || !pipeline_.empty()
               ? "; a persist was in flight: its events may or may not be "
                 "stored"
               : ""));
    answer_waiting(reason);
  }
  // A terminated actor may live on for a while (a pending delayed message
  // holds a reference to it); release the store, workers and bus now.
  pending_persist_ = nullptr;
  pipeline_.clear();
  held_exit_ = nullptr;
  ctx_ = store_context{};
}

// -- recovery -----------------------------------------------------------------

void persistent_actor_base::start_recovery() {
  recovering_ = true;
  recovery_start_ = clock::now();
  reset_state();
  version_ = 0;
  unstored_ = 0;
  position_ = 0;
  replayed_ = 0;
  recovered_snapshot_ = 0;
  // The state decoded from the snapshot that recovery starts from: a fresh
  // state per attempt, so a snapshot that fails half-way (or throws) leaves
  // nothing behind in the state decoded from an older one.
  auto box = std::make_shared<std::unique_ptr<state_box>>();
  auto make_box = codec().make_box;
  auto decode = codec().decode;
  auto store = ctx_.store;
  auto id = persistence_id_;
  auto job = make_io_job([store, id, box, make_box, decode] {
    snapshot_step step;
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
        try {
          if (auto err = decode(*fresh, s.state))
            return err;
        } catch (...) {
          return make_user_code_error("from_snapshot",
                                      std::current_exception());
        }
        *box = std::move(fresh);
        return caf::none;
      });
    return step;
  });
  run_io(
    job, opts_.recovery_timeout,
    [this, job, box]() {
      auto& step = job->result();
      if (!step.latest)
        return fail_recovery(step.latest.error());
      if (!step.loaded)
        return fail_recovery(step.loaded.error());
      auto& loaded = *step.loaded;
      if (loaded.fallbacks > 0) {
        ctx_.metrics->snapshot_fallbacks += loaded.fallbacks;
        for (auto& reason : loaded.fallback_reasons)
          log("snapshot fallback: " + reason);
      }
      recovery_target_ = *step.latest;
      if (loaded.snapshot && *box) {
        adopt_state(**box);
        version_ = loaded.snapshot->version;
        position_ = loaded.snapshot->store_position;
        recovered_snapshot_ = version_;
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
  auto store = ctx_.store;
  auto id = persistence_id_;
  event_range range;
  range.from_version = version_ + 1;
  range.to_version = recovery_target_;
  range.max_count = opts_.recovery_batch_size;
  range.after_position = position_;
  auto job = make_io_job([store, id, range] {
    return store->get_events_with_errors(id, range);
  });
  run_io(
    job, opts_.recovery_timeout,
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
      for (auto& e : batch->events) {
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
  recovering_ = false;
  restarts_ = 0;
  last_replayed_ = replayed_;
  auto& m = *ctx_.metrics;
  m.recoveries += 1;
  m.events_replayed += static_cast<uint64_t>(replayed_);
  m.recovery_duration.record(clock::now() - recovery_start_);
  events_since_snapshot_ = replayed_;
  last_snapshot_time_ = aether::now();
  auto limit = opts_.snapshots.max_replay();
  if (limit && replayed_ > *limit)
    take_snapshot();
  try {
    recovery_completed(version_);
  } catch (...) {
    stop_with(user_code_error("recovery_completed", std::current_exception()));
  }
}

void persistent_actor_base::fail_recovery(caf::error err) {
  ctx_.metrics->recovery_failures += 1;
  if (err == caf::sec::request_timeout)
    err = make_runtime_error(
      runtime_error::recovery_timeout,
      "recovery of actor \"" + persistence_id_ + "\" made no progress within "
        + std::to_string(opts_.recovery_timeout.count()) + " ms");
  log("recovery of \"" + persistence_id_ + "\" failed: " + describe(err));
  // Reads change nothing: a read that timed out (unknown outcome) is as
  // safe to retry as one that found the store unavailable.
  if (opts_.on_unknown_outcome == failure_mode::restart
      && (is(err, persistence_error::unavailable)
          || is(err, persistence_error::unknown_outcome)
          || is(err, runtime_error::recovery_timeout)))
    return on_unknown_outcome(err);
  stop_with(err);
}

// -- persisting ---------------------------------------------------------------

void persistent_actor_base::start_persist(const command_context& cmd,
                                          std::vector<event_draft> drafts,
                                          std::function<void()> applied,
                                          done_fn done) {
  if (persist_in_flight_ && opts_.mode == persist_mode::sequential)
    return done(make_runtime_error(
      runtime_error::persist_in_flight,
      "actor \"" + persistence_id_
        + "\": persist called while another persist is in flight; use "
          "persist_all to store several events"));
  if (drafts.empty())
    return done(make_persistence_error(persistence_error::invalid_argument,
                                       "events: nothing to persist"));
  auto events = std::make_shared<std::vector<event>>();
  events->reserve(drafts.size());
  auto t = aether::now();
  for (auto& d : drafts) {
    event e;
    e.id = make_uuid();
    e.type = std::move(d.type);
    e.actor_id = persistence_id_;
    e.command_id = cmd.command_id;
    e.version = version_ + static_cast<int64_t>(events->size()) + 1;
    e.data = std::move(d.data);
    e.metadata = cmd.metadata;
    for (auto& kv : d.metadata)
      e.metadata[kv.first] = kv.second;
    e.time = t;
    if (auto err = validate_event(e))
      return done(err);
    events->push_back(std::move(e));
  }
  if (opts_.mode == persist_mode::pipelined)
    return start_pipelined(std::move(events), std::move(applied),
                           std::move(done));
  persist_in_flight_ = true;
  persist_reply_ = done;
  auto start = clock::now();
  auto finish = [this, events, applied, done, start](caf::error err,
                                                     uint64_t pos) {
    persist_in_flight_ = false;
    persist_reply_ = nullptr;
    auto& m = *ctx_.metrics;
    if (err) {
      m.persist_failures += 1;
      if (is(err, persistence_error::version_conflict))
        m.version_conflicts += 1;
      done(err);
      if (is(err, persistence_error::version_conflict)) {
        log("\"" + persistence_id_ + "\": " + describe(err)
            + "; re-recovering from the store");
        start_recovery();
      } else if (!outcome_known(err)) {
        on_unknown_outcome(err);
      }
      return;
    }
    m.persist_latency.record(clock::now() - start);
    m.events_persisted += events->size();
    for (size_t i = 0; i < events->size(); ++i) {
      auto& e = (*events)[i];
      caf::error apply_err;
      try {
        apply_err = apply_event(e);
      } catch (...) {
        apply_err = user_code_error(
          "apply of event " + std::to_string(e.version) + " (\"" + e.type
            + "\", id " + e.id + ") after it was stored",
          std::current_exception());
      }
      if (apply_err) {
        // Stored but not applied: the command fails, and the state is
        // rebuilt from the store (a deterministic failure fails that
        // recovery too, and the actor stops with this error).
        log(describe(apply_err));
        publish_stored(*events);
        done(apply_err);
        start_recovery();
        return;
      }
      version_ = e.version;
      if (i + 1 == events->size())
        position_ = pos;
      if (count_stored(e))
        take_snapshot();
    }
    publish_stored(*events);
    applied();
    done(caf::none);
  };
  auto id = ++pending_persist_id_;
  auto res = append_events(*events, id);
  if (!res) {
    pending_persist_ = finish;
    return;
  }
  if (*res)
    finish(caf::none, (*res)->position);
  else
    finish(res->error(), 0);
}

std::optional<persistent_actor_base::append_outcome>
persistent_actor_base::append_events(const std::vector<event>& events,
                                     uint64_t id) {
  // The one append path: the store never blocks this thread, and its
  // completion comes back as a message (or, when the store completed
  // before `append` returned, the caller finishes right here).
  auto holder = std::make_shared<async_append>();
  auto self = caf::actor_cast<caf::actor>(this);
  event_store::append_callback cb = [self, id,
                                     holder](caf::expected<append_result> res) {
    holder->result = std::move(res);
    if (!holder->completed_inline())
      caf::anon_send(self, persist_done_atom::value, id, io_job_ptr{holder});
  };
  ctx_.io->append(ctx_.store, events, std::move(cb));
  if (holder->returned()) {
    delayed_send(this, opts_.persist_timeout, persist_timeout_atom::value, id);
    return std::nullopt;
  }
  return std::move(holder->result);
}

caf::error persistent_actor_base::persist_timeout_error() const {
  return make_runtime_error(runtime_error::persist_timeout,
                            "actor \"" + persistence_id_
                              + "\": the store did not answer within "
                              + std::to_string(opts_.persist_timeout.count())
                              + " ms; the events may or may not be stored");
}

// -- pipelined persists -------------------------------------------------------

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
  applied();
  auto id = ++pending_persist_id_;
  pipeline_.push_back(
    pipelined_persist{id, events, std::move(done), clock::now(), std::nullopt});
  if (auto res = append_events(*events, id))
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
  auto& m = *ctx_.metrics;
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

bool persistent_actor_base::count_stored(const event& e) {
  ++events_since_snapshot_;
  snapshot_check check{e,
                       e.version,
                       events_since_snapshot_,
                       last_snapshot_time_,
                       aether::now(),
                       state_address(),
                       state_type_id()};
  return opts_.snapshots.should_snapshot(check);
}

void persistent_actor_base::publish_stored(const std::vector<event>& events) {
  auto& bus = ctx_.bus;
  if (!bus || (!opts_.publish_events && !opts_.publish_event_stored))
    return;
  for (auto& e : events) {
    if (opts_.publish_events)
      if (auto err = bus->publish(ctx_.bus_namespace, e))
        log("\"" + persistence_id_
            + "\": publishing to the bus failed: " + describe(err));
    if (opts_.publish_event_stored)
      bus->publish(ctx_.bus_namespace,
                   make_event_stored(ctx_.bus_namespace, e));
  }
}

void persistent_actor_base::on_unknown_outcome(const caf::error& err) {
  if (opts_.on_unknown_outcome == failure_mode::stop
      || restarts_ >= opts_.max_restarts) {
    stop_with(err);
    return;
  }
  auto delay = opts_.restart_backoff;
  for (size_t i = 0; i < restarts_ && delay < opts_.restart_max_backoff; ++i)
    delay *= 2;
  delay = std::min(delay, opts_.restart_max_backoff);
  ++restarts_;
  log("\"" + persistence_id_ + "\" restarts in " + std::to_string(delay.count())
      + " ms after: " + describe(err));
  // Commands wait in the stash until the restart message arrives.
  restarting_ = true;
  delayed_send(this, delay, restart_atom::value);
}

// -- snapshots ----------------------------------------------------------------

void persistent_actor_base::save_snapshot() {
  if (version_ > 0)
    take_snapshot();
}

void persistent_actor_base::take_snapshot(std::function<void()> done) {
  if (codec().decode == nullptr) {
    // A state without a snapshot codec: nothing to save (passivation and
    // `save_snapshot` go on without one; a policy was refused at spawn).
    if (done)
      done();
    return;
  }
  events_since_snapshot_ = 0;
  last_snapshot_time_ = aether::now();
  actor_snapshot snap;
  snap.actor_id = persistence_id_;
  snap.version = version_;
  try {
    snap.state = encode_state();
  } catch (...) {
    ctx_.metrics->snapshot_failures += 1;
    log(describe(
      user_code_error("to_snapshot at version " + std::to_string(version_),
                      std::current_exception())));
    if (done)
      done();
    return;
  }
  snap.time = last_snapshot_time_;
  snap.store_position = position_;
  auto store = ctx_.store;
  auto keep = opts_.snapshots.retention();
  auto delete_events = opts_.snapshots.deletes_events();
  auto job = make_io_job(
    [store, snap{std::move(snap)}, keep, delete_events]() -> caf::error {
      if (auto err = store->save_snapshot(snap))
        return err;
      return apply_retention(*store, snap.actor_id, snap.version, keep,
                             delete_events);
    });
  auto version = version_;
  run_io(
    job, std::chrono::milliseconds{0},
    [this, job, version, done]() {
      if (auto& err = job->result()) {
        ctx_.metrics->snapshot_failures += 1;
        log("snapshot of \"" + persistence_id_ + "\" at version "
            + std::to_string(version) + " failed: " + describe(err));
      } else {
        ctx_.metrics->snapshots_saved += 1;
      }
      if (done)
        done();
    },
    [this, version, done](caf::error& err) {
      ctx_.metrics->snapshot_failures += 1;
      log("snapshot of \"" + persistence_id_ + "\" at version "
          + std::to_string(version) + " failed: " + describe(err));
      if (done)
        done();
    });
}

} // namespace aether
