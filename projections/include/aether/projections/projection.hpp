#pragma once

#include "aether/persistence/event_store.hpp"
#include "aether/projections/event_batch.hpp"
#include "aether/projections/offset_store.hpp"
#include "aether/projections/projection_options.hpp"
#include "aether/projections/projection_stats.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

struct sqlite3;

namespace aether {

namespace detail {
class handler_calls;
class projection_worker;
} // namespace detail

/// A read model fed by a store's events: reads a query (`events_by_namespace`
/// or `events_by_tag`) from its stored offset, hands the events to a handler
/// in position order, and stores its offset. Catching up and following new
/// events are one loop (`live_query`), so there is no gap and no duplicate
/// at the seam; a restart resumes from the stored offset.
///
/// Two guarantees, chosen by the factory:
/// - `exactly_once`: the read model is a SQLite database; each read's events
///   and the offset commit in one transaction, so after any crash the read
///   model is the fold of exactly the events up to its offset. When a
///   handler fails, the transaction is rolled back and the events before
///   the failing one are committed again without it.
/// - `at_least_once`: any handler (it should be idempotent); the offset is
///   stored after the handler, in the background while the next read is
///   handled, so a crash may hand over again the events handled since the
///   last stored offset (at most two reads), never skip one.
///
/// A handler that fails (returns an error or throws) is retried with
/// backoff, counted, and never skipped silently: only with
/// `dead_letter_after` does an event that keeps failing go to the
/// `dead_letter` function, counted, and the projection moves on. A record
/// that does not decode is treated the same way.
///
/// Each worker runs on a thread of its own, never on CAF's scheduler; the
/// handler runs there. Thread-safe.
class projection {
public:
  /// Handles one event (at-least-once); an error or an exception is a
  /// failure.
  using handler = std::function<caf::error(const positioned_event&)>;

  /// Handles one event inside the read model's transaction (exactly-once):
  /// write through `db`; an error or an exception rolls back what this event
  /// wrote. Do not commit or roll back the transaction yourself.
  using sqlite_handler
    = std::function<caf::error(sqlite3* db, const positioned_event&)>;

  /// Handles the events of one read in one call (at-least-once); an error
  /// or an exception is a failure of the batch.
  using batch_handler = std::function<caf::error(const event_batch&)>;

  /// Handles the events of one read in one call inside the read model's
  /// transaction (exactly-once), for instance to add up a page's amounts
  /// per key and write each key once; an error or an exception rolls back
  /// what the batch wrote. Do not commit or roll back yourself.
  using sqlite_batch_handler
    = std::function<caf::error(sqlite3* db, const event_batch&)>;

  /// Starts an at-least-once projection with its offsets in `offsets`.
  /// Fails with `invalid_argument` for bad options, or with the offset
  /// store's error; offsets stored for another number of workers refuse to
  /// start (`invalid_argument`: drop them to rebuild).
  static caf::expected<std::unique_ptr<projection>>
  at_least_once(std::shared_ptr<event_store> store, projection_options opts,
                std::shared_ptr<offset_store> offsets, handler f);

  /// Starts an exactly-once projection into the SQLite database at
  /// `read_model_path` (created if missing; offsets in its table
  /// `aether_projection_offsets`). Each worker opens its own connection.
  static caf::expected<std::unique_ptr<projection>>
  exactly_once(std::shared_ptr<event_store> store, projection_options opts,
               std::string read_model_path, sqlite_handler f);

  /// `at_least_once` with a handler per read instead of per event. When a
  /// batch fails, its events are handed over again one stored event per
  /// call, to find the one that fails (retried, counted, dead-lettered as
  /// with a handler per event): the events before it are then handled a
  /// second time, so the handler must be idempotent.
  static caf::expected<std::unique_ptr<projection>>
  at_least_once_batched(std::shared_ptr<event_store> store,
                        projection_options opts,
                        std::shared_ptr<offset_store> offsets, batch_handler f);

  /// `exactly_once` with a handler per read instead of per event: the
  /// read's events, their writes and the offset commit in one transaction.
  /// When a batch fails, it is rolled back and its events are handed over
  /// again one stored event per call, to find the one that fails (retried,
  /// counted, dead-lettered as with a handler per event); nothing is
  /// stored twice.
  static caf::expected<std::unique_ptr<projection>>
  exactly_once_batched(std::shared_ptr<event_store> store,
                       projection_options opts, std::string read_model_path,
                       sqlite_batch_handler f);

  /// Stops every worker and waits for them.
  ~projection();

  projection(const projection&) = delete;
  projection& operator=(const projection&) = delete;

  /// Stops every worker (returns after their last handler call).
  void stop();

  /// Makes every worker read now (after a local write).
  void wake();

  const std::string& name() const {
    return opts_.name;
  }

  /// One entry per worker.
  std::vector<projection_stats> stats() const;

  /// How far the slowest worker is behind the store's newest event, in
  /// events (on JetStream: in messages, a batch being one); reads the
  /// store's newest position.
  caf::expected<int64_t> events_behind() const;

  /// Prometheus text (exposition format 0.0.4) of `xs`, labelled by
  /// projection and worker: `aether_projection_events_handled_total`,
  /// `..._failures_total`, `..._dead_letters_total`,
  /// `..._read_failures_total`, `aether_projection_offset`,
  /// `aether_projection_lag_events`, `aether_projection_lag_seconds`.
  /// Reads each store's newest position (call it off CAF's threads, e.g. as
  /// an HTTP `metrics_source`).
  static std::string prometheus(const std::vector<const projection*>& xs);

  /// `prometheus({this})`.
  std::string prometheus() const;

private:
  projection(std::shared_ptr<event_store> store, projection_options opts);

  static caf::expected<std::unique_ptr<projection>>
  start_at_least_once(std::shared_ptr<event_store> store,
                      projection_options opts,
                      std::shared_ptr<offset_store> offsets,
                      const detail::handler_calls& f);

  static caf::expected<std::unique_ptr<projection>>
  start_exactly_once(std::shared_ptr<event_store> store,
                     projection_options opts,
                     const std::string& read_model_path,
                     const detail::handler_calls& f);

  std::shared_ptr<event_store> store_;
  projection_options opts_;
  std::vector<std::unique_ptr<detail::projection_worker>> workers_;
};

} // namespace aether
