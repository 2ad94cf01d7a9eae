#pragma once

#include "aether/nats/jetstream.hpp"
#include "aether/nats/nats_connection.hpp"
#include "aether/persistence/snapshot_store.hpp"
#include "aether/persistence/validation.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace aether {

namespace detail {
class append_pipeline;
class query_cursors;
class stream_layout;
class version_cache;
struct version_entry;
} // namespace detail

/// Event and snapshot store on NATS JetStream (the production store).
///
/// Layout (see docs/stores.md):
/// - events: stream `<ns>_<stream>` (file storage) with one subject per actor,
///   `aether.<ns>.<stream>.<token>`; a batch is one message (a JSON array;
///   a single event is the event's JSON, as the Go aether writes it), and
///   batches of one actor that waited behind its append in flight may share
///   one (`max_merged_events`); headers `Nats-Msg-Id` (the slot: actor,
///   first version, expected sequence; see the source), `Aether-First-Id`,
///   `Aether-First-Version` and `Aether-Version`; a retried batch whose
///   message is already the actor's last one is reported as stored
///   (idempotent);
/// - appends carry `Nats-Expected-Last-Subject-Sequence` (0 for an actor's
///   first event), so the server enforces one writer per actor; a stale
///   writer gets `version_conflict` with the actual version;
/// - snapshots: stream `<ns>_<snapshot_stream>`, one subject per actor, the
///   newest K kept by the stream's per-subject limit; the latest is read with
///   last-message-by-subject.
class jetstream_store : public event_store_with_snapshots {
public:
  struct options {
    /// Namespace; sanitised as the Go aether does (spaces, dots, `*`, `>`
    /// become `_`).
    std::string ns = "default";
    std::string stream = "events";
    std::string snapshot_stream = "snapshots";
    /// Limits of the event stream. By default there are none: events are
    /// kept forever. Setting one is an explicit choice to lose events: an
    /// actor whose first events expired and that no snapshot covers fails
    /// recovery (`corrupt_data`), also when all of its events expired (its
    /// latest version is kept in a stream `<events>_heads` without limits,
    /// so it never starts over at 1; see docs/stores.md).
    struct limits_of_events {
      /// Age after which the server drops an event (0: forever).
      std::chrono::seconds max_age{0};
      /// Messages (batches) the stream keeps at most (0: unlimited).
      int64_t max_msgs = 0;
      /// Bytes the stream keeps at most (0: unlimited).
      int64_t max_bytes = 0;
    };
    limits_of_events event_limits;
    /// The server's deduplication window of both streams: a retried append
    /// and two writers racing for one slot are recognised within it (the
    /// guard against forks on clustered streams relies on it).
    std::chrono::seconds duplicates_window{120};
    int replicas = 1;
    /// Snapshots kept per actor by the server.
    int64_t snapshots_per_actor = 16;
    /// Bound of every store call; past it a call fails with `unavailable`
    /// (nothing sent) or `unknown_outcome` (an append may have landed).
    std::chrono::milliseconds timeout{5000};
    store_limits limits;
    /// Actors whose latest version and sequence the store remembers (to
    /// append without a read first, and to refuse stale writers known from
    /// other nodes' notifications). Past it an arbitrary one is forgotten:
    /// its next append reads its last message first.
    size_t max_cached_actors = 100000;
    /// Threads for appends that cannot be published asynchronously at once
    /// (they read the actor's last message first, or wait for the window).
    size_t append_threads = 4;
    /// Batches of one actor that wait behind its append in flight are then
    /// published together, as one message of at most this many events (a
    /// single larger batch still goes alone). 1 keeps one message per
    /// append.
    size_t max_merged_events = 1000;
    /// False: open existing streams only, never create one, and take their
    /// limits, duplicates window, replicas and snapshots per actor from the
    /// server instead of the options (tools that inspect a store, such as
    /// the `aether` command, use it). A missing stream fails with
    /// `not_found` naming it.
    bool create = true;
  };

  /// Creates the streams if missing (with `create`), reuses them if
  /// present, and fails with `store_failure` naming the setting, its value
  /// and the expected value if an existing stream differs in any setting the
  /// guarantees rely on (storage, retention, limits, discard policy,
  /// duplicates window, replicas, deny delete/purge).
  static caf::expected<std::unique_ptr<jetstream_store>>
  open(std::shared_ptr<nats_connection> conn, options opts);

  ~jetstream_store() override;

  // -- event_store ------------------------------------------------------------

  /// Appends without blocking the caller. Per actor one append is in
  /// flight at a time; batches that arrive meanwhile wait and are then
  /// published together, as one message. An append is an asynchronous
  /// publish (at most `nats_connection::max_pending_publishes` in flight per
  /// connection) when the actor's last sequence is cached; otherwise (the
  /// first append of an actor, event limits, a full window) it runs on one
  /// of the store's `append_threads`, which read first. A conflict found
  /// asynchronously reports the attempted version as the actor's current
  /// version (a lower bound: someone stored it).
  void append(std::vector<event> batch, append_callback done) override;
  using event_store::get_events;
  caf::expected<replay_result>
  get_events_with_errors(const std::string& actor_id,
                         event_range range) override;
  caf::expected<int64_t>
  get_latest_version(const std::string& actor_id) override;
  caf::expected<std::vector<std::string>> actor_ids() override;
  /// A position is the stream sequence of the batch's message times 2^20
  /// plus the event's index in the batch (`jetstream_position`): positions
  /// increase in the order the server stored the messages, with holes. Both
  /// queries read the event stream with an ordered consumer from the
  /// position on; a tag query reads every message after it too, but decodes
  /// only those whose `Aether-Tags` header names the tag.
  caf::expected<query_page> events_by_namespace(int64_t after_position,
                                                size_t max_count) override;
  caf::expected<query_page> events_by_tag(const std::string& tag,
                                          int64_t after_position,
                                          size_t max_count) override;
  /// The position after every event of the stream's last message.
  caf::expected<int64_t> highest_position() override;
  /// The messages between the two positions.
  int64_t events_between(int64_t after, int64_t upto) const override;
  caf::error delete_events_to(const std::string& actor_id,
                              int64_t version) override;
  void update_version_cache(const std::string& actor_id,
                            int64_t version) override;

  // -- snapshot_store ---------------------------------------------------------

  caf::error save_snapshot(actor_snapshot s) override;
  caf::expected<std::optional<actor_snapshot>>
  get_latest_snapshot(const std::string& actor_id,
                      snapshot_criteria criteria
                      = snapshot_criteria::latest()) override;
  caf::expected<size_t> delete_snapshots(const std::string& actor_id,
                                         snapshot_criteria criteria) override;

  // -- layout -----------------------------------------------------------------

  /// The events subject of `actor_id`.
  std::string event_subject(const std::string& actor_id) const;
  /// The snapshot subject of `actor_id`.
  std::string snapshot_subject(const std::string& actor_id) const;
  const std::string& event_stream_name() const;
  const std::string& snapshot_stream_name() const;

  /// Messages read by replays since construction (tests assert on it).
  uint64_t messages_read() const {
    return messages_read_.load();
  }

  /// Consumers opened for queries (`events_by_namespace`, `events_by_tag`)
  /// since construction: a read that goes on where the last one stopped
  /// reuses its consumer (tests assert on it).
  uint64_t query_readers_opened() const;

  /// Appends (messages) published asynchronously, without a read first.
  uint64_t async_appends() const {
    return async_appends_.load();
  }

  /// Appends refused as duplicates of another writer's message for the same
  /// slot (the guard against clustered servers storing both; see the
  /// message id in the source).
  uint64_t duplicates_refused() const {
    return duplicates_refused_.load();
  }

  /// With event limits: head messages that could not be written (each is
  /// written again by the actor's next append).
  uint64_t head_failures() const {
    return head_failures_.load();
  }

  /// Actors in the version cache (tests assert the bound).
  size_t version_cache_size() const;

  const std::shared_ptr<nats_connection>& connection() const {
    return conn_;
  }

private:
  struct stored_message;

  jetstream_store(std::shared_ptr<nats_connection> conn, options opts);

  // Appends (jetstream_appends.cpp).
  bool start_append(const std::vector<event>& events,
                    const std::vector<std::string>& encoded,
                    const append_callback& complete,
                    const std::function<void()>& run_instead);
  caf::expected<append_result>
  run_append(const std::vector<event>& events,
             const std::vector<std::string>& encoded);
  caf::error check_payload(const jetstream_message& m,
                           const std::string& actor_id, int64_t first,
                           int64_t last) const;
  bool is_own_retry(const std::string& actor_id,
                    const std::vector<event>& batch);

  // Latest versions (jetstream_store.cpp).
  caf::expected<detail::version_entry> read_last(const std::string& actor_id);
  caf::expected<int64_t> read_head(const std::string& actor_id);
  void write_head(const std::string& actor_id, int64_t version);
  caf::expected<jetstream_message> last_message(const std::string& stream,
                                                const std::string& subject,
                                                const std::string& what);
  caf::expected<uint64_t> last_seq_of(const std::string& stream,
                                      const std::string& subject);

  // Queries in the global order (jetstream_queries.cpp).
  caf::expected<query_page>
  read_query(const std::string* tag, int64_t after_position, size_t max_count);

  // Snapshots (jetstream_snapshots.cpp).
  caf::error publish_snapshot(const std::string& actor_id,
                              std::string_view body, int64_t version,
                              int64_t time_ns);

  std::shared_ptr<nats_connection> conn_;
  options opts_;
  jetstream js_;
  std::unique_ptr<detail::stream_layout> layout_;
  // With event limits: a stream of one head message per actor (its latest
  // version), kept without limits.
  bool heads_ = false;
  std::atomic<uint64_t> head_failures_{0};
  std::unique_ptr<detail::version_cache> cache_;
  std::atomic<uint64_t> messages_read_{0};
  std::atomic<uint64_t> async_appends_{0};
  std::atomic<uint64_t> duplicates_refused_{0};
  // Readers kept open between query reads (closed before the connection).
  std::unique_ptr<detail::query_cursors> cursors_;
  // Last member: destroyed first, after every append completed.
  std::unique_ptr<detail::append_pipeline> pipeline_;
};

/// The bits of a JetStream position that hold the event's index in its
/// batch (the message); the stream sequence sits above them.
constexpr int jetstream_index_bits = 20;

/// The position of the event at `index` of the batch stored as message
/// `seq`; `index` = 2^20 - 1 stands for "after every event of the message".
constexpr int64_t jetstream_position(uint64_t seq, uint64_t index) {
  return static_cast<int64_t>((seq << jetstream_index_bits) | index);
}

/// Sanitises a namespace the way the Go aether does (spaces, dots, `*`, `>`,
/// and path separators become `_`).
std::string sanitize_namespace(const std::string& ns);

/// Encodes an actor id as one NATS subject token, injectively: `_` becomes
/// `_5F` and `.` becomes `_2E` (every `_` in a token starts an escape); every
/// other character valid in an actor id stays. Wildcards and whitespace
/// cannot occur (actor id validation refuses them).
std::string subject_token(const std::string& actor_id);

} // namespace aether
