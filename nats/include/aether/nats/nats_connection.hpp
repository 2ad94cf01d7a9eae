#pragma once

#include "aether/nats/nats_options.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

// nats.c types (from <nats/nats.h>), kept out of this header.
struct __natsConnection;
struct __jsCtx;
struct __natsMsg;

namespace aether {

/// The project's one RAII wrapper around a nats.c connection and its
/// JetStream context. Thread-safe (nats.c connections are); share it with
/// `std::shared_ptr`. It reconnects by itself after a server restart.
class nats_connection {
public:
  /// Connects with `opts`. Fails with `unavailable` (no server reachable) or
  /// `invalid_argument` (bad options, wrong credentials); error texts never
  /// contain passwords or tokens.
  static caf::expected<std::shared_ptr<nats_connection>>
  connect(const nats_options& opts);

  ~nats_connection();

  nats_connection(const nats_connection&) = delete;
  nats_connection& operator=(const nats_connection&) = delete;

  __natsConnection* handle() const {
    return conn_;
  }

  __jsCtx* jetstream() const {
    return js_;
  }

  /// True while connected (not while reconnecting or closed).
  bool connected() const;

  /// Times the connection reconnected since it was opened.
  uint64_t reconnects() const;

  const nats_options& options() const {
    return opts_;
  }

  /// Outcome of an asynchronous JetStream publish: the stream sequence (and
  /// whether the server saw a duplicate message id), or the nats.c status
  /// and JetStream error code.
  struct publish_ack {
    int status = 0;
    int js_error = 0;
    uint64_t sequence = 0;
    bool duplicate = false;
  };

  using ack_callback = std::function<void(const publish_ack&)>;

  /// Maximum asynchronous publishes awaiting their ack (the window).
  static constexpr int64_t max_pending_publishes = 1000;

  /// Publishes `msg` asynchronously (takes ownership on success; `msg` is
  /// then cleared). `done` runs once on a nats.c thread with the ack, an
  /// error, or a timeout after `timeout`. Returns false without sending when
  /// the window stays full for more than a millisecond or the publish fails
  /// at once; the caller keeps `msg` then.
  bool publish_async(__natsMsg*& msg, std::chrono::milliseconds timeout,
                     ack_callback done);

  /// Publishes `data` on `subject` (core NATS, at most once), with `reply`
  /// as the subject for an answer when not empty. Does not wait for the
  /// server; fails only when the message cannot be handed to the connection.
  caf::error publish(const std::string& subject, const std::string& data,
                     const std::string& reply = {});

  /// Called by nats.c for every async ack (internal).
  void on_ack(__natsMsg* msg, const publish_ack& ack);

private:
  nats_connection(nats_options opts);

  nats_options opts_;
  __natsConnection* conn_ = nullptr;
  __jsCtx* js_ = nullptr;
  std::mutex pending_mtx_;
  std::unordered_map<__natsMsg*, ack_callback> pending_;
};

/// Maps a nats.c status (and JetStream error code) to a persistence error
/// whose description starts with `what`.
caf::error make_nats_error(int status, int js_error, const std::string& what);

/// The one classifier of a JetStream publish's outcome (synchronous and
/// asynchronous appends, snapshots, deletion markers), for a publish that
/// was attempted: a JetStream error means the server answered and stored
/// nothing (its code decides the kind, never `unknown_outcome`); no
/// responders means no stream received it (`unavailable`); a refusal of the
/// client library before sending (bad argument, payload over the server's
/// `max_payload`, not permitted) keeps its kind; anything else (a timeout, a
/// connection lost, closed or stale, no server) may have happened after the
/// message left the process: `unknown_outcome`.
caf::error make_publish_error(int status, int js_error,
                              const std::string& what);

} // namespace aether
