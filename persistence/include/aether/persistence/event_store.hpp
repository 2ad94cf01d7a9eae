#pragma once

#include "aether/persistence/event.hpp"
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
/// Blocking: the calls block the calling thread until the store answered.
/// The aether runtime therefore never calls them on CAF's scheduler threads
/// but on its own I/O workers (see `runtime/store_io`).
///
/// Asynchronous backends (JetStream): such a backend implements these
/// synchronous calls by issuing the asynchronous request and waiting for its
/// completion, with a bounded, configurable timeout that turns into
/// `unavailable` (nothing was sent) or `unknown_outcome` (the request may have
/// landed). Because every call may run concurrently, the runtime's I/O
/// workers keep several requests in flight; a backend may in addition
/// override `save_events_async` to pipeline appends without a thread per
/// request.
class event_store {
public:
  using append_callback = std::function<void(caf::expected<append_result>)>;

  virtual ~event_store();

  /// Appends one event; see `save_events`.
  caf::expected<append_result> save_event(event ev);

  /// Appends a batch of events of one actor, all or nothing.
  ///
  /// The versions must be contiguous and the first must be the actor's
  /// latest version + 1. A batch whose first version is not latest + 1 fails
  /// with `version_conflict` (carrying the actor's current version); a batch
  /// that breaks a rule fails with `invalid_argument`. In both cases nothing
  /// is stored. Empty event ids are generated, zero timestamps set to now.
  /// A store that reports success has made the batch durable.
  virtual caf::expected<append_result> save_events(std::vector<event> batch)
    = 0;

  /// Asynchronous append: calls `done` exactly once, from any thread. The
  /// default implementation calls `save_events` on the calling thread.
  virtual void save_events_async(std::vector<event> batch,
                                 append_callback done);

  /// Starts an append without blocking the calling thread, if the store can
  /// (JetStream: an asynchronous publish within a bounded in-flight window).
  /// Returns false and does nothing when it cannot (the default; or when it
  /// would first have to read, or its window is full): the caller then uses
  /// `save_events` on a thread that may block. When it returns true, `done`
  /// runs exactly once, on any thread; it must not block.
  virtual bool try_save_events_async(std::vector<event>& batch,
                                     append_callback& done);

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

  /// True if no call ever waits for I/O or another process (the memory
  /// store: a short lock at most). The runtime then calls `save_events`
  /// directly on the actor's thread instead of handing it to an I/O worker.
  /// False by default, and for decorators (`forwarding_store`), which may add
  /// waiting of their own.
  virtual bool never_blocks() const;

  /// Raises the store's knowledge of `actor_id`'s latest version (never
  /// lowers it), so that a later append at or below it fails fast with
  /// `version_conflict`. The cross-node bridge calls it when another node
  /// stored an event. Stores without a cache ignore it.
  virtual void update_version_cache(const std::string& actor_id,
                                    int64_t version);
};

} // namespace aether
