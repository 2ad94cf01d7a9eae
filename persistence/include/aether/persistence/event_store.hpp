#pragma once

#include "aether/persistence/event.hpp"
#include "aether/persistence/event_query.hpp"
#include "aether/persistence/replay.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace aether {

/// The contract of every event store.
///
/// Thread safety: every member function may be called from any thread at any
/// time, concurrently.
///
/// Errors: `persistence_error` codes through `caf::error` / `caf::expected`;
/// no member function throws. Invalid input yields `invalid_argument` (the
/// description names the field and the rule) and stores nothing.
///
/// Appending: `append` is the one write path. It never waits for I/O on the
/// calling thread (a store queues the batch for its own writer, publishes it
/// asynchronously, or, like the memory store, completes at once) and calls
/// its completion exactly once, possibly before it returns. The aether
/// runtime calls it on the actor's own thread and gets the result back as a
/// message. `save_events` is a thin blocking wrapper for users and tests.
///
/// Reads block the calling thread until the store answered; the runtime runs
/// them on its I/O workers (see `runtime/store_io`), never on CAF's scheduler
/// threads. A store bounds each call with a configurable timeout that turns
/// into `unavailable` (nothing was sent) or `unknown_outcome` (an append may
/// have landed).
///
/// Order: appends of one actor started one after the other are applied in
/// that order (a pipelined actor relies on it); an append after one that
/// failed sees the store as that failure left it.
class event_store {
public:
  using append_callback = std::function<void(caf::expected<append_result>)>;

  virtual ~event_store();

  /// Appends a batch of events of one actor, all or nothing, and calls
  /// `done` exactly once with the outcome: on any thread (a store's writer
  /// or NATS thread, or the calling thread before `append` returns). `done`
  /// must not block; the runtime's completions only send a message.
  ///
  /// The versions must be contiguous and the first must be the actor's
  /// latest version + 1. A batch whose first version is not latest + 1 fails
  /// with `version_conflict` (carrying the actor's current version); a batch
  /// that breaks a rule fails with `invalid_argument`. In both cases nothing
  /// is stored. Empty event ids are generated, zero timestamps set to now.
  /// A store that reports success has made the batch durable.
  virtual void append(std::vector<event> batch, append_callback done) = 0;

  /// Blocking wrapper of `append`: waits for its completion.
  caf::expected<append_result> save_events(std::vector<event> batch);

  /// Appends one event; see `append`.
  caf::expected<append_result> save_event(event ev);

  /// Returns the events of `actor_id` in `range`, in version order. A stored
  /// record that does not decode fails the whole read with `corrupt_data`
  /// (use `get_events_with_errors` to get the good events and the errors).
  virtual caf::expected<std::vector<event>>
  get_events(const std::string& actor_id, event_range range);

  /// Convenience overload with inclusive version bounds and a count limit.
  caf::expected<std::vector<event>>
  get_events(const std::string& actor_id, int64_t from_version,
             int64_t to_version = std::numeric_limits<int64_t>::max(),
             size_t max_count = std::numeric_limits<size_t>::max());

  /// Like `get_events`, but returns the good events together with one
  /// `replay_error` (position, raw bytes, reason) per record that does not
  /// decode.
  virtual caf::expected<replay_result>
  get_events_with_errors(const std::string& actor_id, event_range range) = 0;

  /// Returns the highest version ever stored for `actor_id` (0 for an
  /// unknown actor), without reading its events. Deleting events never
  /// lowers it.
  virtual caf::expected<int64_t> get_latest_version(const std::string& actor_id)
    = 0;

  /// Deletes the events of `actor_id` up to and including `version`. The
  /// latest version stays what it was, even when every event is deleted;
  /// deleting a lower range again changes nothing. A store that keeps a
  /// batch as one record (JetStream) deletes whole batches: the events of a
  /// batch that straddles `version` stay readable.
  virtual caf::error
  delete_events_to(const std::string& actor_id, int64_t version)
    = 0;

  /// Raises the store's knowledge of `actor_id`'s latest version (never
  /// lowers it), so that a later append at or below it fails fast with
  /// `version_conflict`. The cross-node bridge calls it when another node
  /// stored an event. Stores without a cache ignore it.
  virtual void update_version_cache(const std::string& actor_id,
                                    int64_t version);

  /// The ids of every actor that ever stored an event (latest version above
  /// 0, also when its events were deleted), sorted. For tools that walk a
  /// whole store (the `aether` command-line tool); it reads the whole
  /// catalog, so it is not for a hot path.
  virtual caf::expected<std::vector<std::string>> actor_ids() = 0;

  // -- queries in the global order
  // ---------------------------------------------

  /// Reads at most `max_count` events of every actor with a position above
  /// `after_position` (0: from the first), in position order (see
  /// `positioned_event`). Deleted events are not returned. The read stops at
  /// a record that does not decode and reports it in `query_page::error`.
  /// A store without a global order fails with `store_failure`.
  virtual caf::expected<query_page> events_by_namespace(int64_t after_position,
                                                        size_t max_count);

  /// Like `events_by_namespace`, but only events tagged `tag` (see
  /// `event::set_tags`). What it costs depends on the store (see
  /// docs/projections.md): an index on memory and SQLite, a scan of the
  /// event stream on JetStream.
  virtual caf::expected<query_page> events_by_tag(const std::string& tag,
                                                  int64_t after_position,
                                                  size_t max_count);

  /// The position of the newest stored event or record (0 when there is
  /// none): `events_by_namespace` after it finds nothing.
  virtual caf::expected<int64_t> highest_position();

  /// About how many events lie after position `after` up to `upto` (for lag
  /// metrics): exact where positions count events (memory, SQLite; deleted
  /// events included), the number of messages on JetStream (a batch is
  /// one). 0 when `upto` <= `after`.
  virtual int64_t events_between(int64_t after, int64_t upto) const;
};

} // namespace aether
