#pragma once

#include "aether/nats/jetstream_message.hpp"
#include "aether/nats/jetstream_reader.hpp"
#include "aether/nats/nats_connection.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace aether {

/// The settings of a JetStream stream that aether creates or checks.
struct stream_config {
  std::string name;
  std::vector<std::string> subjects;
  /// File storage (false: memory).
  bool file_storage = true;
  /// Retention by limits (false: interest or work queue; aether never
  /// creates such a stream, but reads it back to refuse it).
  bool limits_retention = true;
  /// Limits; 0 or less means unlimited.
  int64_t max_msgs_per_subject = -1;
  int64_t max_age_ns = 0;
  int64_t max_msgs = -1;
  int64_t max_bytes = -1;
  /// At a limit, refuse new messages (false: discard the oldest).
  bool discard_new = false;
  /// The deduplication window (0: the server's default of 2 minutes).
  int64_t duplicates_ns = 0;
  int replicas = 1;
  bool deny_delete = false;
  bool deny_purge = false;
};

/// A stream's configuration and state.
struct stream_info {
  stream_config config;
  uint64_t messages = 0;
  uint64_t bytes = 0;
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;
  /// Messages per subject, for the subjects that match the filter asked for
  /// (empty without a filter).
  std::map<std::string, uint64_t> subjects;
};

/// The server's acknowledgement of a stored JetStream publish.
struct publish_ack {
  /// The message's stream sequence (of the earlier message for a
  /// duplicate).
  uint64_t sequence = 0;
  /// The server already had a message with the same `Nats-Msg-Id` within
  /// its deduplication window: nothing new was stored.
  bool duplicate = false;
};

/// The outcome of a JetStream publish: stored (an ack, maybe a duplicate),
/// or an error whose code says what happened.
using publish_outcome = caf::expected<publish_ack>;

/// The one classifier of a JetStream publish's outcome, for the synchronous
/// and asynchronous paths alike (appends, snapshots, deletion markers, KV
/// writes), given nats.c's status, the JetStream error code and the ack:
/// - stored: the ack (with `duplicate` when the server deduplicated it);
/// - conflict: the server refused an expected last (subject) sequence
///   (JetStream error 10071): `version_conflict`, nothing stored;
/// - refused: any other JetStream error (the server answered and stored
///   nothing: `store_failure`), no responders (no stream received it:
///   `unavailable`), or a refusal of the client library before sending (bad
///   argument, payload over `max_payload`, not permitted: their kind);
/// - unknown: anything else (a timeout, a connection lost, closed or stale)
///   may have happened after the message left the process:
///   `unknown_outcome`.
/// Error descriptions start with `what`.
publish_outcome classify_publish(int status, int js_error,
                                 const publish_ack& ack,
                                 const std::string& what);

/// JetStream on one connection: streams, reads, publishes and deletions,
/// each bounded by the timeout given at construction. Thread-safe (as the
/// connection). Every call returns `caf::expected` or `caf::error`; no
/// nats.c type shows.
class jetstream {
public:
  jetstream(std::shared_ptr<nats_connection> conn,
            std::chrono::milliseconds timeout);

  /// The stream's configuration and state (with messages per subject for
  /// the subjects matching `subjects_filter`, when not empty); `not_found`
  /// when there is no such stream.
  caf::expected<stream_info>
  info(const std::string& stream,
       const std::string& subjects_filter = {}) const;

  /// Creates a stream.
  caf::error add_stream(const stream_config& cfg) const;

  /// Removes the messages of `subject` (every message when empty).
  caf::error purge(const std::string& stream,
                   const std::string& subject = {}) const;

  /// The last message of `subject` in `stream`, or an empty message when
  /// there is none. A read changes nothing: a timeout is `unavailable`.
  caf::expected<jetstream_message>
  last_message(const std::string& stream, const std::string& subject) const;

  /// Publishes `m` and waits for the server's answer (classified by
  /// `classify_publish`).
  publish_outcome publish(const jetstream_message& m) const;

  /// Publishes `m` asynchronously (takes it on success; `m` is empty then).
  /// `done` runs once on a nats.c thread with the outcome (classified by
  /// `classify_publish`), a timeout counting as unknown. Returns false
  /// without sending when the window of `max_pending_publishes` stays full
  /// for more than a millisecond or the publish fails at once; the caller
  /// keeps `m` then.
  bool publish_async(jetstream_message& m,
                     std::function<void(const publish_outcome&)> done) const;

  /// Deletes message `seq` of `stream` (one already gone is no error).
  caf::error delete_message(const std::string& stream, uint64_t seq) const;

  /// Opens an ordered consumer of the messages of `subject` in `stream`
  /// from `start_seq` on, kept open for reads one after another (a
  /// `jetstream_reader`); with `headers_only`, without payloads.
  caf::expected<std::unique_ptr<jetstream_reader>>
  open_reader(const std::string& stream, const std::string& subject,
              uint64_t start_seq, bool headers_only = false) const;

  /// Reads the messages of `subject` in `stream` from `start_seq` in order
  /// (an ordered consumer), until `f` returns false or the message at
  /// `last_seq` was read; with `headers_only`, without payloads. A read that
  /// stalls for the timeout is `unavailable`.
  caf::error read(const std::string& stream, const std::string& subject,
                  uint64_t start_seq, uint64_t last_seq, bool headers_only,
                  const std::function<bool(const jetstream_message&)>& f) const;

  /// The server's largest message (headers included), or 0 while unknown.
  int64_t max_payload() const;

  const std::shared_ptr<nats_connection>& connection() const {
    return conn_;
  }

  std::chrono::milliseconds timeout() const {
    return timeout_;
  }

private:
  std::shared_ptr<nats_connection> conn_;
  std::chrono::milliseconds timeout_;
};

} // namespace aether
