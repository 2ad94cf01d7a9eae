#pragma once

#include "aether/persistence/event_upcasters.hpp"
#include "aether/snapshot/snapshot_policy.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace aether {

/// What a persistent actor does when the outcome of a store write is unknown
/// (the store said `unknown_outcome` or a failure, or did not answer in
/// time).
enum class failure_mode {
  /// Stop the actor with the error (the default): never continue on a state
  /// that may differ from the store.
  stop,
  /// Restart: wait (exponential backoff), re-recover from the store, go on.
  restart,
};

/// How a persistent actor persists.
enum class persist_mode {
  /// One persist at a time (the default): commands wait while a persist is
  /// in flight, and every handler sees only stored state.
  sequential,
  /// Up to `persistence_options::pipeline_window` persists in flight: a
  /// persist applies its events to the state at once and the actor goes on
  /// with the next command; each reply still goes out only after its events
  /// are stored, in command order. For hot actors (many commands a second):
  /// the store then takes many of their events per commit or round trip.
  /// A handler sees state that includes events not stored yet. If a persist
  /// fails, the actor answers it and every later one in flight with an
  /// error, waits for the store calls in flight, and recovers from the store
  /// (an unknown outcome follows `on_unknown_outcome`).
  pipelined,
};

/// Options of one persistent actor.
///
/// Actors spawned one after another on a thread with equal options share one
/// copy of them (and of an equal `store_context`), so an idle actor does not
/// carry its own: options are equal when every value is and none has a
/// function (`log`, `tagger`, `snapshot_upcaster`, a `when` rule), since
/// functions cannot be compared. An actor that changes its policy through
/// `snapshots()` gets its own copy first; actors that set equal policies
/// share again once their `make_commands` returned.
struct persistence_options {
  /// When to take snapshots and which to keep.
  snapshot_policy snapshots;

  /// Events read per store call during recovery.
  size_t recovery_batch_size = 10000;
  /// A recovery step (one store call) that takes longer fails the recovery
  /// with `recovery_timeout`.
  std::chrono::milliseconds recovery_timeout = std::chrono::seconds{30};
  /// A persist whose store call takes longer fails with `persist_timeout`
  /// and counts as an unknown outcome.
  std::chrono::milliseconds persist_timeout = std::chrono::seconds{30};

  /// Sequential (the default) or pipelined persists.
  persist_mode mode = persist_mode::sequential;
  /// With `persist_mode::pipelined`: persists in flight at most; further
  /// commands wait until the oldest is stored.
  size_t pipeline_window = 64;

  /// An exit message (other than `exit_reason::kill`, which acts at once)
  /// that arrives while a store call is in flight waits for that call to
  /// return, at most this long.
  std::chrono::milliseconds exit_timeout = std::chrono::seconds{5};

  /// With a bus in the store context: publish every stored event, and an
  /// `EventStored` notification after it, into the context's namespace.
  /// Nothing is published after a failed or conflicting persist.
  bool publish_events = true;
  bool publish_event_stored = true;

  failure_mode on_unknown_outcome = failure_mode::stop;
  /// With `failure_mode::restart`: first delay, doubled per attempt up to
  /// `restart_max_backoff`; after `max_restarts` attempts in a row the actor
  /// stops.
  std::chrono::milliseconds restart_backoff = std::chrono::milliseconds{100};
  std::chrono::milliseconds restart_max_backoff = std::chrono::seconds{10};
  size_t max_restarts = 10;

  /// Receives this actor's warnings (snapshot fallbacks, failures),
  /// credentials redacted. Default: the process's log sink
  /// (`aether::set_log_sink`, `aether/core/log.hpp`) at level warning with
  /// the field `actor_id`.
  std::function<void(const std::string&)> log;

  /// Schema evolution: stored events are upcast to the current shape before
  /// `apply` sees them (recovery), and persisted events are stamped with
  /// their type's schema version (see `event_upcasters`; made checked with
  /// `event_upcasters::make`). Empty: events are applied as stored.
  std::shared_ptr<const event_upcasters> upcasters;

  /// Tags each persisted event for `event_store::events_by_tag` (and the
  /// projections reading by tag): the returned tags are added to those the
  /// event already has (`event::set_tags`) and stored with it. It runs on
  /// the actor's thread, after `upcasters` stamped the event; a tag that
  /// breaks the rules (see `validate_tag`) or a tagger that throws fails
  /// the persist with `invalid_argument`, and nothing is stored. Empty: no
  /// tags but those set by hand.
  std::function<std::vector<std::string>(const event&)> tagger;

  /// The version of the state's schema: stamped on every snapshot the
  /// actor takes. Raise it when the state's JSON changes shape. At
  /// recovery a snapshot of another version is not decoded as it is: a
  /// newer one (written by newer code) is skipped; an older one is upcast
  /// by `snapshot_upcaster` when set, and skipped otherwise. A skipped
  /// snapshot falls back to an older snapshot or a full replay, counted in
  /// `snapshot_fallbacks` and logged with the reason.
  int64_t state_schema_version = 1;

  /// Turns the JSON of a snapshot of schema version `from` (older than
  /// `state_schema_version`) into the current shape; it runs on the
  /// runtime's I/O worker. Empty: older snapshots are skipped (a replay
  /// rebuilds the state). One that throws skips the snapshot.
  std::function<boost::json::value(int64_t from,
                                   const boost::json::value& state)>
    snapshot_upcaster;

  /// Reads the options from CAF's config: `aether.snapshot.*` (see
  /// `snapshot_policy::from_config`) and `aether.recovery.batch-size`,
  /// `aether.recovery.timeout`, `aether.persist.timeout`,
  /// `aether.persist.on-unknown-outcome` ("stop" or "restart"),
  /// `aether.persist.mode` ("sequential" or "pipelined") and
  /// `aether.persist.window`. A value
  /// that breaks a rule is refused with `runtime_error::invalid_option`
  /// naming the option and the rule.
  static caf::expected<persistence_options>
  from_config(const caf::actor_system_config& cfg);

  /// Checks the rules: `recovery_batch_size` >= 1, `pipeline_window` >= 1,
  /// every timeout and backoff > 0. A persistent actor spawned with options
  /// that break one stops at once with this error (and answers its requests
  /// with it).
  caf::error validate() const;
};

/// Declares every `aether.*` option in a CAF config option set.
void add_persistence_options(caf::config_option_set& options);

} // namespace aether
