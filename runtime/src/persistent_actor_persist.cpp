#include "aether/runtime/persistent_actor_base.hpp"

// Phases running and persisting: a sequential persist (events stored as one
// batch, then applied, then the reply) and the store append every persist
// uses; publishing stored events to the bus.

#include "aether/core/error.hpp"
#include "aether/core/uuid.hpp"
#include "aether/persistence/validation.hpp"
#include "aether/runtime/event_bus.hpp"
#include "aether/runtime/event_stored.hpp"
#include "aether/runtime/runtime_error.hpp"
#include "persistent_actor_detail.hpp"

#include <caf/send.hpp>

namespace aether {

using namespace detail;

namespace {

/// Adds the tagger's tags to `e`; a tagger that throws or returns a bad tag
/// fails the persist.
caf::error
add_tags(const std::function<std::vector<std::string>(const event&)>& tagger,
         event& e) {
  std::vector<std::string> tags;
  try {
    tags = tagger(e);
  } catch (const std::exception& x) {
    return make_persistence_error(persistence_error::invalid_argument,
                                  "tagger: threw for event \"" + e.type
                                    + "\": " + x.what());
  } catch (...) {
    return make_persistence_error(persistence_error::invalid_argument,
                                  "tagger: threw for event \"" + e.type + "\"");
  }
  if (tags.empty())
    return caf::none;
  for (auto& tag : tags)
    if (auto err = validate_tag(tag))
      return err;
  auto all = e.tags();
  all.insert(all.end(), tags.begin(), tags.end());
  e.set_tags(std::move(all));
  return caf::none;
}

} // namespace

void persistent_actor_base::start_persist(const command_context& cmd,
                                          std::vector<event_draft> drafts,
                                          std::function<void()> applied,
                                          done_fn done) {
  if (phase_ == actor_phase::persisting)
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
    if (opts_->upcasters)
      opts_->upcasters->stamp(e);
    if (opts_->tagger)
      if (auto err = add_tags(opts_->tagger, e))
        return done(err);
    if (auto err = validate_event(e))
      return done(err);
    events->push_back(std::move(e));
  }
  if (opts_->mode == persist_mode::pipelined)
    return start_pipelined(std::move(events), std::move(applied),
                           std::move(done));
  enter(actor_phase::persisting);
  auto start = clock::now();
  auto finish = [this, events, applied, done, start](caf::error err,
                                                     uint64_t pos) {
    enter(actor_phase::running);
    if (flight_)
      flight_->persist_reply = nullptr;
    auto& m = *ctx_->metrics;
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
    update_state_bytes();
    publish_stored(*events);
    applied();
    done(caf::none);
  };
  auto id = ++pending_persist_id_;
  auto deadline = persist_deadline();
  auto res = append_events(*events, id, deadline);
  if (!res) {
    // Waiting: an exit or stop now answers the reply (a store that
    // completed inline needs none of this, nor its allocation).
    auto& f = flight();
    f.persist_reply = done;
    f.pending_persist = finish;
    f.pending_persist_deadline = deadline;
    return;
  }
  if (*res)
    finish(caf::none, (*res)->position);
  else
    finish(res->error(), 0);
}

std::optional<persistent_actor_base::append_outcome>
persistent_actor_base::append_events(const std::vector<event>& events,
                                     uint64_t id,
                                     caf::actor_clock::time_point deadline) {
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
  ctx_->io->append(ctx_->store, events, std::move(cb));
  if (holder->returned()) {
    arm_persist_timer(deadline);
    return std::nullopt;
  }
  return holder->take();
}

caf::actor_clock::time_point persistent_actor_base::persist_deadline() {
  return system().clock().now() + opts_->persist_timeout;
}

void persistent_actor_base::arm_persist_timer(
  caf::actor_clock::time_point deadline) {
  if (persist_timer_armed_)
    return; // it fires no later than this persist's deadline
  persist_timer_armed_ = true;
  scheduled_send(this, deadline, persist_timeout_atom::value);
}

bool persistent_actor_base::on_persist_timer() {
  persist_timer_armed_ = false;
  auto now = system().clock().now();
  if (!flight_)
    return false;
  auto& f = *flight_;
  if (!f.pipeline.empty()) {
    // Oldest first; failing one may answer the later ones (fail_pipeline),
    // each still gets its own outcome.
    std::vector<uint64_t> due;
    for (auto& p : f.pipeline)
      if (!p.outcome && p.deadline <= now)
        due.push_back(p.id);
    for (auto id : due)
      pipelined_done(id, append_outcome{persist_timeout_error()});
    for (auto& p : f.pipeline)
      if (!p.outcome) {
        arm_persist_timer(p.deadline);
        break;
      }
    return !due.empty();
  }
  if (!f.pending_persist)
    return false;
  if (f.pending_persist_deadline > now) {
    arm_persist_timer(f.pending_persist_deadline);
    return false;
  }
  auto finish = std::move(f.pending_persist);
  f.pending_persist = nullptr;
  finish(persist_timeout_error(), 0);
  return true;
}

caf::error persistent_actor_base::persist_timeout_error() const {
  return make_runtime_error(runtime_error::persist_timeout,
                            "actor \"" + persistence_id_
                              + "\": the store did not answer within "
                              + std::to_string(opts_->persist_timeout.count())
                              + " ms; the events may or may not be stored");
}

void persistent_actor_base::publish_stored(const std::vector<event>& events) {
  auto& bus = ctx_->bus;
  if (!bus || (!opts_->publish_events && !opts_->publish_event_stored))
    return;
  for (auto& e : events) {
    if (opts_->publish_events)
      if (auto err = bus->publish(ctx_->bus_namespace, e))
        log("\"" + persistence_id_
            + "\": publishing to the bus failed: " + describe(err));
    if (opts_->publish_event_stored)
      bus->publish(ctx_->bus_namespace,
                   make_event_stored(ctx_->bus_namespace, e));
  }
}

} // namespace aether
