#pragma once

#include "aether/persistence/event.hpp"
#include "aether/persistence/replay.hpp"
#include "aether/runtime/actor_phase.hpp"
#include "aether/runtime/command_context.hpp"
#include "aether/runtime/command_stash.hpp"
#include "aether/runtime/io_job.hpp"
#include "aether/runtime/persistence_options.hpp"
#include "aether/runtime/runtime_error.hpp"
#include "aether/runtime/store_context.hpp"

#include <atomic>
#include <boost/json/value.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <typeindex>
#include <vector>

namespace aether {

/// The state-independent core of `persistent_actor<State>`: recovery,
/// persisting, snapshots and failure handling. Users derive from
/// `persistent_actor<State>`, not from this class.
///
/// Lifecycle (one `actor_phase` at a time, see `phase()`):
/// 1. `awaiting_recovery` until the node's recovery limiter has a slot, then
///    `recovering`: on spawn the actor loads the newest snapshot that decodes
///    (falling back to older ones, then to a full replay), replays the events
///    after it in batches, and calls `recovery_completed(version)`. Commands
///    that arrive meanwhile wait, in order, in its `command_stash` (not in
///    CAF's skip cache, so a deep mailbox costs O(1) per message).
/// 2. `running`: command handlers (from `make_commands`) call `persist` /
///    `persist_all`; `persisting`: the events got the next versions and are
///    with the store as one atomic batch (its non-blocking `append`; the
///    completion comes back as a message); once stored they are applied to
///    the state, and only then the reply goes out. Commands wait meanwhile.
/// 3. After each applied event the snapshot policy is checked; a snapshot
///    captures the state at exactly that event's version and is saved without
///    stopping command processing.
/// 4. `restarting` after an unknown outcome (a backoff, then `recovering`),
///    `passivating` on `passivate_atom`, `stopping` after a failure that
///    restarts cannot mend.
/// Asks a persistent actor to passivate: `(passivate_atom)` waits behind the
/// commands before it, then the actor saves a snapshot (when events were
/// applied since the last one), answers with its version and stops
/// normally. Commands that arrive after it get `runtime_error::actor_stopped`.
/// `(passivate_atom, false)` stops the same way without the snapshot.
using passivate_atom = caf::atom_constant<caf::atom("ae_passiv")>;

class persistent_actor_base : public caf::event_based_actor {
public:
  using clock = std::chrono::steady_clock;

  persistent_actor_base(caf::actor_config& cfg, std::string persistence_id,
                        store_context ctx, persistence_options opts = {});

  ~persistent_actor_base() override;

  /// The actor id under which events are stored.
  const std::string& persistence_id() const {
    return persistence_id_;
  }

  /// The version of the last event applied to the state (0: none). With
  /// `persist_mode::pipelined` it may include events not stored yet.
  int64_t version() const {
    return version_;
  }

  /// The version of the last event known to be stored (equals `version()`
  /// except while pipelined persists are in flight).
  int64_t stored_version() const {
    return version_ - (flight_ ? flight_->unstored : 0);
  }

  /// Pipelined persists in flight (0 in sequential mode).
  size_t persists_in_flight() const {
    return flight_ ? flight_->pipeline.size() : 0;
  }

  /// The phase the actor is in (see `actor_phase`).
  actor_phase phase() const {
    return phase_;
  }

  /// True while the state is being rebuilt: recovering, waiting for a
  /// recovery slot, or waiting to recover again after a failure.
  bool recovering() const {
    return phase_ == actor_phase::awaiting_recovery
           || phase_ == actor_phase::recovering
           || phase_ == actor_phase::restarting;
  }

  /// The snapshot version the last recovery started from (0: none).
  int64_t recovered_from_snapshot() const {
    return recovered_snapshot_;
  }

  /// Events replayed by the last recovery.
  int64_t events_replayed() const {
    return last_replayed_;
  }
  /// The bytes the state takes, as last measured (after recovery, each
  /// persist and each snapshot): the state's own `memory_size()` when it has
  /// one, else the size of its last snapshot's JSON (0 before the first).
  /// Readable from any thread (the actor registry's memory budget reads it).
  uint64_t state_bytes() const {
    return state_bytes_.load(std::memory_order_relaxed);
  }

  /// The store context. The reference is valid until the actor exits.
  const store_context& persistence_context() const {
    return *ctx_;
  }

  /// The options. The reference is valid until the next call of
  /// `snapshots()` and, while `make_commands` runs, until it returns.
  const persistence_options& options() const {
    return *opts_;
  }

  /// The snapshot policy, to set with the commands (in `make_commands`, or
  /// in a function-based actor's function), as Akka sets retention in the
  /// behavior: it is checked before recovery starts, and a policy the state
  /// cannot serve stops the actor with `invalid_option`. It starts as
  /// `persistence_options::snapshots`. The first call gives the actor its
  /// own copy of the options (actors spawned with equal options share one,
  /// see `persistence_options`); once `make_commands` returned, actors that
  /// set equal policies share again, so the reference is valid only until
  /// then.
  snapshot_policy& snapshots();

  /// The command behavior. Its handlers see the recovered state.
  virtual caf::behavior make_commands() = 0;

  /// Runs after every successful recovery, with the recovered version.
  virtual void recovery_completed(int64_t version);

  caf::behavior make_behavior() final;

  /// Holds back commands (and responses to the handlers' own requests)
  /// while the actor recovers, persists or restarts, and hands them to the
  /// command behavior afterwards in arrival order. An exit message with
  /// `exit_reason::kill` acts at once; any other exit message that arrives
  /// while a store call is in flight acts when that call returns, at most
  /// `persistence_options::exit_timeout` later. Once the actor stops with an
  /// error, every request is answered with that error.
  caf::invoke_message_result consume(caf::mailbox_element& x) override;

  /// Answers every request still held back, and the persist in flight, with
  /// an error (`runtime_error::actor_stopped`, or the error the actor
  /// stopped with).
  void on_exit() override;

  // -- persisting -------------------------------------------------------------

  /// Stores one event (type + data), applies it, then replies with
  /// `reply()` (a value, or nothing if `reply` returns void). Call it from a
  /// command handler and return its result. On failure the command gets the
  /// store's error.
  template <class F>
  caf::response_promise
  persist(std::string type, boost::json::value data, F reply) {
    return persist(command_context{}, std::move(type), std::move(data),
                   std::move(reply));
  }

  /// Like `persist`, copying the command id and metadata of `cmd`.
  template <class F>
  caf::response_promise persist(const command_context& cmd, std::string type,
                                boost::json::value data, F reply) {
    std::vector<event_draft> drafts;
    drafts.push_back(event_draft{std::move(type), std::move(data), {}});
    return persist_all(cmd, std::move(drafts), std::move(reply));
  }

  /// Stores several events as one atomic batch.
  template <class F>
  caf::response_promise persist_all(std::vector<event_draft> drafts, F reply) {
    return persist_all(command_context{}, std::move(drafts), std::move(reply));
  }

  /// Stores several events as one atomic batch with the command's metadata.
  template <class F>
  caf::response_promise persist_all(const command_context& cmd,
                                    std::vector<event_draft> drafts, F reply) {
    auto rp = make_response_promise();
    persist_into(rp, cmd, std::move(drafts), std::move(reply));
    return rp;
  }

  /// Takes a snapshot of the current state now (also without a policy).
  void save_snapshot();

protected:
  /// Stores `drafts` as one batch and answers `rp` with `reply()` once they
  /// are stored (or with the error); with `stop_after` the actor then stops
  /// normally.
  template <class F>
  void persist_into(caf::response_promise rp, const command_context& cmd,
                    std::vector<event_draft> drafts, F reply,
                    bool stop_after = false) {
    // The reply is computed right after the events were applied (in
    // pipelined mode before they are stored, so it reflects this command and
    // not later ones) and delivered once they are stored.
    auto computed = std::make_shared<computed_reply>();
    auto compute = [this, computed, reply{std::move(reply)}]() mutable {
      // The reply function is user code: if it throws, the requester gets
      // an error (the events are stored and applied).
      try {
        if constexpr (std::is_void_v<std::invoke_result_t<F&>>) {
          reply();
          computed->msg = caf::make_message();
        } else {
          computed->msg = caf::make_message(reply());
        }
      } catch (...) {
        computed->err = user_code_error("the reply function (after the "
                                        "events were applied)",
                                        std::current_exception());
      }
    };
    start_persist(cmd, std::move(drafts), std::move(compute),
                  [this, rp, computed,
                   stop_after](const caf::error& err) mutable {
                    if (err) {
                      rp.deliver(err);
                    } else if (computed->err) {
                      rp.deliver(computed->err);
                    } else {
                      rp.deliver(std::move(computed->msg));
                      if (stop_after)
                        quit();
                    }
                  });
  }

  /// Writes a warning to `persistence_options::log` (default: stderr).
  void log(const std::string& line) const;

  /// Counts the messages handed to the command behavior (commands and
  /// responses to the handlers' requests): two calls that see the same
  /// count run in the same handler.
  uint64_t dispatch_count() const {
    return dispatches_;
  }

  /// Type-erased access to the state, implemented by `persistent_actor`.
  struct state_box {
    virtual ~state_box();
  };

  /// Decodes snapshots; both null when the state has no snapshot codec
  /// (the actor then never loads or takes snapshots and refuses a snapshot
  /// policy).
  struct state_codec {
    std::unique_ptr<state_box> (*make_box)();
    caf::error (*decode)(state_box&, const boost::json::value&);
  };

  virtual const state_codec& codec() const = 0;
  virtual void adopt_state(state_box& box) = 0;
  virtual void reset_state() = 0;
  /// Folds `e` into the state; an error (an event the state cannot take)
  /// fails the recovery or the persist like a throwing `apply`.
  virtual caf::error apply_event(const event& e) = 0;
  virtual boost::json::value encode_state() const = 0;
  virtual const void* state_address() const = 0;
  virtual std::type_index state_type_id() const = 0;
  /// The state's own `memory_size()`, if it has one.
  virtual std::optional<uint64_t> state_memory_size() const;

  /// The error for user code that threw: names the actor, `what` (the
  /// function and event or snapshot) and the exception's text.
  caf::error user_code_error(const std::string& what,
                             std::exception_ptr ex) const;

private:
  using done_fn = std::function<void(const caf::error&)>;
  /// A reply computed after the events were applied.
  struct computed_reply {
    caf::message msg;
    caf::error err;
  };

  using event_batch = std::shared_ptr<std::vector<event>>;
  using append_outcome = caf::expected<append_result>;

  /// Stores `drafts` as one batch: calls `applied()` once the events are
  /// applied to the state, and `done` with the outcome of the store.
  void start_persist(const command_context& cmd,
                     std::vector<event_draft> drafts,
                     std::function<void()> applied, done_fn done);
  /// Hands `events` to the store. Returns the outcome if the store completed
  /// before `append` returned; otherwise it arrives as
  /// `(persist_done_atom, id, job)`, and the persist timer runs until
  /// `deadline` at the latest.
  std::optional<append_outcome>
  append_events(const std::vector<event>& events, uint64_t id,
                caf::actor_clock::time_point deadline);
  /// The error of a persist whose store call did not answer in time.
  caf::error persist_timeout_error() const;
  /// When a persist started now must have its answer.
  caf::actor_clock::time_point persist_deadline();
  /// One timer per actor, not one per persist (a timer per persist kept one
  /// clock entry per persist for `persist_timeout`, and woke the clock's
  /// thread each time): armed for the oldest persist in flight unless it
  /// is armed already (for an older deadline).
  void arm_persist_timer(caf::actor_clock::time_point deadline);
  /// The persist timer fired: fails the persists past their deadline with
  /// `persist_timeout`, then arms the timer for the oldest one left; true
  /// if one failed.
  bool on_persist_timer();
  // -- pipelined mode
  void start_pipelined(event_batch events, std::function<void()> applied,
                       done_fn done);
  /// Records the outcome of pipelined persist `id`, then settles.
  void pipelined_done(uint64_t id, append_outcome res);
  /// Answers the stored persists at the front of the pipeline, in order;
  /// once it is empty, recovers (after a failure) or takes a due snapshot.
  void settle_pipeline();
  /// Marks the state for recovery once the pipeline is empty.
  void fail_pipeline(const caf::error& err);
  /// Recovers once the recovery limiter grants a slot.
  void start_recovery();
  /// Recovers (holding a slot).
  void begin_recovery();
  void replay_next();
  void finish_recovery();
  void fail_recovery(caf::error err);
  void on_unknown_outcome(const caf::error& err);
  /// Saves a snapshot of the current state; `done` (if any) runs when the
  /// store answered, successful or not.
  void take_snapshot(std::function<void()> done = nullptr);
  /// Refuses a snapshot policy the state cannot serve (no codec, or a
  /// `when` rule on another state type).
  caf::error check_snapshot_setup() const;
  /// Handles `(passivate_atom)` when it is the next message to process.
  bool try_passivate(caf::mailbox_element& x);
  /// Measures the state again (see `state_bytes`).
  void update_state_bytes();
  void publish_stored(const std::vector<event>& events);
  /// Counts stored event `e` towards the snapshot policy; true when the
  /// policy asks for a snapshot after it.
  bool count_stored(const event& e);

  /// Runs `job` on the actor's I/O worker and then `done()` (`failed(err)`
  /// on a timeout).
  template <class Job, class Done, class Failed>
  void run_io(const std::shared_ptr<Job>& job,
              std::chrono::milliseconds timeout, Done done, Failed failed) {
    auto t = timeout.count() > 0 ? caf::duration{timeout} : caf::infinite;
    auto hdl = request(worker(), t, io_atom::value, io_job_ptr{job});
    own_requests_.push_back(hdl.id().integer_value());
    hdl.then(std::move(done), std::move(failed));
  }
  /// Forgets the store request `id`; false if it was not one.
  bool forget_own_request(uint64_t id);

  /// Moves to phase `next`; `stopping` is final.
  void enter(actor_phase next) {
    if (phase_ != actor_phase::stopping)
      phase_ = next;
  }
  /// Commands wait: the actor is not running, or its pipeline is full, failed
  /// or holds back a due snapshot.
  bool busy() const {
    if (phase_ != actor_phase::running)
      return true;
    if (!flight_)
      return false;
    auto& f = *flight_;
    return f.pipeline.size() >= opts_->pipeline_window || f.pipeline_failed
           || (f.snapshot_due && !f.pipeline.empty());
  }
  /// A store call of this actor is in flight (an exit waits for it).
  bool store_call_in_flight() const {
    return phase_ == actor_phase::recovering
           || phase_ == actor_phase::persisting || !pipeline_empty();
  }
  void drain();
  /// Stops the actor with `err`: answers what waits, answers every request
  /// that arrives until the stop message (queued behind them) quits.
  void stop_with(const caf::error& err);
  /// Answers the held-back requests and the persist in flight with `err`.
  void answer_waiting(const caf::error& err);
  void reply_error(caf::mailbox_element& x, const caf::error& err);
  void process_held_exit();
  /// `consume` without freeing the persist bookkeeping afterwards.
  caf::invoke_message_result consume_message(caf::mailbox_element& x);
  caf::actor worker() const;

  std::string persistence_id_;
  // Shared by the actors spawned with equal contexts and options (an idle
  // actor then does not carry its own copy; see shared_setup.hpp).
  std::shared_ptr<const store_context> ctx_;
  std::shared_ptr<const persistence_options> opts_;

  actor_phase phase_ = actor_phase::awaiting_recovery;
  // opts_ is this actor's own copy (made by `snapshots()`), not shared.
  bool opts_own_ = false;
  // drain() is running (it is not re-entered from the handlers it calls).
  bool draining_ = false;
  // A persist timeout message is on its way (see arm_persist_timer).
  bool persist_timer_armed_ = false;
  int64_t version_ = 0;
  uint64_t position_ = 0;
  int64_t recovery_target_ = 0;
  int64_t recovered_snapshot_ = 0;
  int64_t replayed_ = 0;
  int64_t last_replayed_ = 0;
  int64_t events_since_snapshot_ = 0;
  timestamp last_snapshot_time_;
  clock::time_point recovery_start_;
  size_t restarts_ = 0;
  command_stash stash_;
  uint64_t pending_persist_id_ = 0;
  // A persist in flight, pipelined or not, and an exit held for it (an idle
  // actor keeps none of this: about 140 bytes allocated with the first
  // persist or held exit, freed after the message that left it unused).
  struct pipelined_persist {
    uint64_t id;
    event_batch events;
    done_fn done; // null once answered
    clock::time_point start;
    caf::actor_clock::time_point deadline;
    std::optional<append_outcome> outcome;
  };
  struct in_flight {
    // The persist waiting for an asynchronous store completion, if any.
    std::function<void(caf::error, uint64_t)> pending_persist;
    caf::actor_clock::time_point pending_persist_deadline;
    // The reply of the persist in flight (answered with an error on exit).
    done_fn persist_reply;
    // Pipelined mode: the persists in flight, oldest first (a list, not a
    // deque: an empty std::deque allocates about 600 bytes).
    std::list<pipelined_persist> pipeline;
    // Events applied but not stored yet (pipelined mode).
    int64_t unstored = 0;
    // A pipelined persist failed: recover once the pipeline is empty.
    bool pipeline_failed = false;
    // The snapshot policy fired while pipelined persists were in flight:
    // take it when the state holds only stored events.
    bool snapshot_due = false;
    caf::error pipeline_error;
    // An exit message waiting for the store call in flight.
    caf::mailbox_element_ptr held_exit;

    /// Nothing in it waits or is owed.
    bool unused() const;
  };
  /// The bookkeeping, allocated on first use.
  in_flight& flight() {
    if (!flight_)
      flight_ = std::make_unique<in_flight>();
    return *flight_;
  }
  /// Frees the bookkeeping once nothing in it is in use (after a message).
  void release_flight() {
    if (flight_ && flight_->unused())
      flight_.reset();
  }
  bool pipeline_empty() const {
    return !flight_ || flight_->pipeline.empty();
  }
  bool has_held_exit() const {
    return flight_ && flight_->held_exit != nullptr;
  }
  std::unique_ptr<in_flight> flight_;
  // Response ids of this actor's own store requests (not user requests):
  // a few at most, freed when none is out (an idle actor keeps nothing).
  std::vector<uint64_t> own_requests_;
  uint64_t held_exit_id_ = 0;
  caf::error stop_reason_;
  uint64_t dispatches_ = 0;
  // The JSON size of the last snapshot loaded or saved.
  uint64_t snapshot_bytes_ = 0;
  std::atomic<uint64_t> state_bytes_{0};
};

} // namespace aether
