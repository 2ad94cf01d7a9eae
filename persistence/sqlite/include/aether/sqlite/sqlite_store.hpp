#pragma once

#include "aether/persistence/snapshot_store.hpp"
#include "aether/persistence/validation.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace aether {

namespace detail {
class sqlite_connection;
class sqlite_statement;
} // namespace detail

/// The embedded default store: events and snapshots in one SQLite database
/// file in WAL mode.
///
/// - Events are keyed by (actor_id, version); a batch is one transaction.
/// - Appends take SQLite's write lock first (`BEGIN IMMEDIATE`) and check the
///   actor's latest version inside the transaction, so two stores on the same
///   file, in one process or in two, never fork an actor's history: the loser
///   gets `version_conflict`.
/// - A success is reported after COMMIT; with the default `synchronous=FULL`
///   the batch survives a crash of the process and of the machine.
/// - The schema is versioned (`PRAGMA user_version`); a newer schema than this
///   build knows is refused with `store_failure`.
class sqlite_store : public event_store_with_snapshots {
public:
  struct options {
    /// Path of the database file (created if missing; its folder must exist).
    std::string path;
    /// False: open an existing aether store only, never create one. A
    /// missing file fails with `not_found`, a database without aether's
    /// schema with `store_failure`; nothing is written to either (tools
    /// that inspect a store, such as the `aether` command, use it).
    bool create = true;
    /// True: open an existing aether store read-only (implies `create`
    /// false). Nothing reaches the file, not WAL mode nor a write lock, so a
    /// read-only file or mount works; every write fails with
    /// `store_failure`. The `aether` command reads stores this way.
    bool read_only = false;
    /// Size limits applied before anything is stored.
    store_limits limits;
    /// How long a call waits for another connection's write lock before it
    /// fails with `unavailable`.
    std::chrono::milliseconds busy_timeout = std::chrono::seconds{5};
    /// `synchronous=FULL` (true) survives power loss; false uses NORMAL,
    /// which survives a crash of the process only.
    bool full_sync = true;
    /// Appends stored in one transaction (one fsync), at most. The writer
    /// takes everything queued up to this many batches.
    size_t max_group_size = 10000;
    /// The writer connection's page cache, at most, in KiB (SQLite's own
    /// default is 2,000). A group commit of thousands of batches from as
    /// many actors touches pages all over the tables; with a small cache
    /// they spill to the WAL and are read back before the commit. Memory is
    /// taken as pages are used, not up front. 1 to INT_MAX, else `open`
    /// fails with `invalid_argument`.
    size_t writer_cache_kib = 65536;
  };

  /// Opens (or creates) the store. Fails with `store_failure` (the
  /// description says why: missing folder, read-only file, newer schema, no
  /// aether schema with `create` false), `not_found` (no such file, with
  /// `create` false) or `unavailable` (locked past the busy timeout).
  static caf::expected<std::unique_ptr<sqlite_store>> open(options opts);

  /// Convenience overload with default options.
  static caf::expected<std::unique_ptr<sqlite_store>> open(std::string path);

  ~sqlite_store() override;

  /// The schema version this build writes.
  /// Version 2 added the global order (`events_by_namespace`); version 3
  /// keys the events table by that order (appends write few pages). Opening
  /// an older store writable upgrades it (see docs/stores.md); read-only
  /// reads it as it is, a version 1 store without queries.
  static constexpr int schema_version = 3;

  // -- event_store ------------------------------------------------------------

  /// Queues the batch for the store's writer thread (a batch that breaks a
  /// rule: `done` with the error, at once). The writer stores everything
  /// queued, up to `max_group_size` batches, in one transaction and calls
  /// each `done` after the commit, on its thread. Batches are stored in the
  /// order they were queued.
  void append(std::vector<event> batch, append_callback done) override;
  using event_store::get_events;
  caf::expected<replay_result>
  get_events_with_errors(const std::string& actor_id,
                         event_range range) override;
  caf::expected<int64_t>
  get_latest_version(const std::string& actor_id) override;
  caf::expected<std::vector<std::string>> actor_ids() override;
  /// Positions are 1, 2, 3, ... in commit order, from a counter stored in
  /// the file (a deleted event's position is never reused). A tag query
  /// reads the index `event_tags`: it costs the tag's events, not the
  /// store's.
  caf::expected<query_page> events_by_namespace(int64_t after_position,
                                                size_t max_count) override;
  caf::expected<query_page> events_by_tag(const std::string& tag,
                                          int64_t after_position,
                                          size_t max_count) override;
  caf::expected<int64_t> highest_position() override;
  caf::error delete_events_to(const std::string& actor_id,
                              int64_t version) override;

  // -- snapshot_store ---------------------------------------------------------

  caf::error save_snapshot(actor_snapshot s) override;
  caf::expected<std::optional<actor_snapshot>>
  get_latest_snapshot(const std::string& actor_id,
                      snapshot_criteria criteria
                      = snapshot_criteria::latest()) override;
  caf::expected<size_t> delete_snapshots(const std::string& actor_id,
                                         snapshot_criteria criteria) override;

  const options& config() const {
    return opts_;
  }

  /// What the writer did so far.
  struct statistics {
    /// Group commits (committed or failed; a group stored again with a
    /// savepoint per batch after a failure counts once).
    uint64_t commits = 0;
    /// Batches of events in them (snapshot saves share them too, not
    /// counted here).
    uint64_t appends = 0;
    /// The most batches and snapshots one transaction held.
    uint64_t largest_group = 0;
  };
  statistics stats() const;

private:
  sqlite_store(options opts, std::unique_ptr<detail::sqlite_connection> writer,
               std::unique_ptr<detail::sqlite_connection> reader);

  struct pending_append;
  using pending_ptr = std::unique_ptr<pending_append>;

  void enqueue(pending_ptr p);
  /// Queues `p` (its `done` is set here) and waits for its commit.
  caf::expected<append_result> enqueue_and_wait(pending_append p);
  /// The writer thread: commits what is queued, group by group; on stop,
  /// what is still queued first.
  void run_writer();
  std::vector<caf::expected<append_result>>
  commit_group(const std::vector<pending_ptr>& group);
  /// One attempt. Without `savepoints`, a batch that fails other than by
  /// a version conflict makes the attempt store nothing and return none
  /// (with them, it always returns the results).
  std::optional<std::vector<caf::expected<append_result>>>
  commit_attempt(const std::vector<pending_ptr>& group, bool savepoints);
  /// Inserts the batch at the positions after `head` and advances it. A
  /// version conflict is found before anything is written.
  caf::expected<append_result>
  append_one(detail::sqlite_connection& w, const std::vector<event>& batch,
             const std::vector<std::string>& encoded, int64_t& head);
  /// Runs a query of the global order (`sql` selects position, actor id,
  /// version and body; `bind` binds the parameters after ?1, the head).
  caf::expected<query_page>
  read_query(const char* sql, int64_t after_position, size_t max_count,
             const std::function<void(detail::sqlite_statement&)>& bind);
  caf::expected<append_result> upsert_snapshot(detail::sqlite_connection& w,
                                               const actor_snapshot& s,
                                               const std::string& encoded);

  options opts_;
  int64_t found_schema_version_ = schema_version;
  std::unique_ptr<detail::sqlite_connection> writer_;
  std::unique_ptr<detail::sqlite_connection> reader_;
  // Group commit: batches waiting for the writer thread.
  std::mutex group_mtx_;
  std::condition_variable group_cv_;
  std::deque<pending_ptr> group_queue_;
  bool stop_writer_ = false;
  std::thread writer_thread_;
  std::atomic<uint64_t> commits_{0};
  std::atomic<uint64_t> appends_{0};
  std::atomic<uint64_t> largest_group_{0};
};

} // namespace aether
