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

  /// True while connected (not while reconnecting or closed).
  bool connected() const;

  /// Times the connection reconnected since it was opened.
  uint64_t reconnects() const;

  const nats_options& options() const {
    return opts_;
  }

  /// Maximum asynchronous JetStream publishes awaiting their ack (the
  /// window of `jetstream::publish_async`).
  static constexpr int64_t max_pending_publishes = 1000;

  /// Publishes `data` on `subject` (core NATS, at most once), with `reply`
  /// as the subject for an answer when not empty. Does not wait for the
  /// server; fails only when the message cannot be handed to the connection.
  caf::error publish(const std::string& subject, const std::string& data,
                     const std::string& reply = {});

  /// Sends everything buffered and waits (at most `timeout`) until the
  /// server processed it (a PING/PONG round trip).
  caf::error flush(std::chrono::milliseconds timeout);

  /// The server's largest message (headers included), or 0 while unknown.
  int64_t max_payload() const;

  /// Traffic of this connection since it was opened.
  struct statistics {
    uint64_t in_msgs = 0;
    uint64_t in_bytes = 0;
    uint64_t out_msgs = 0;
    uint64_t out_bytes = 0;
    uint64_t reconnects = 0;
  };

  statistics stats() const;

private:
  // The nats.c handles and the asynchronous acks, for the classes of this
  // component only (nats/src/nats_access.hpp): no raw handle leaves it.
  friend struct detail_nats_access;

  /// An asynchronous ack as nats.c reports it.
  using raw_ack = std::function<void(int status, int js_error,
                                     uint64_t sequence, bool duplicate)>;

  nats_connection(nats_options opts);

  nats_options opts_;
  __natsConnection* conn_ = nullptr;
  __jsCtx* js_ = nullptr;
  std::mutex pending_mtx_;
  std::unordered_map<__natsMsg*, raw_ack> pending_;
};

/// Maps a nats.c status (and JetStream error code) to a persistence error
/// whose description starts with `what`.
caf::error make_nats_error(int status, int js_error, const std::string& what);

} // namespace aether
