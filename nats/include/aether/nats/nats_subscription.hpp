#pragma once

#include "aether/nats/nats_connection.hpp"

#include <caf/expected.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace aether {

/// A message as a subscription hands it over (copied out of nats.c).
struct nats_message {
  std::string subject;
  /// Where to send the answer (empty: nobody waits for one).
  std::string reply;
  std::string data;
  /// The server's "no responders" status for a request nobody subscribed to.
  bool no_responders = false;
};

/// A NATS subscription that calls `handler` on a nats.c thread for every
/// message. Closing it (or destroying it) drains it: the messages the server
/// sent before it saw the unsubscribe still reach the handler, then `close`
/// returns (at most 5 s later); a handler never runs after `close`.
class nats_subscription {
public:
  using handler = std::function<void(nats_message&&)>;

  /// Subscribes to `subject`; with a non-empty `queue` as a member of that
  /// queue group (each message goes to one member).
  static caf::expected<std::unique_ptr<nats_subscription>>
  subscribe(std::shared_ptr<nats_connection> conn, const std::string& subject,
            const std::string& queue, handler f);

  /// How a subscription buffers what its handler has not taken yet.
  struct limits {
    /// Queue group (empty: none).
    std::string queue;
    /// Messages and bytes held for the handler; beyond them nats.c drops
    /// messages (counted by `dropped`).
    int pending_msgs = 1000000;
    int pending_bytes = 256 * 1024 * 1024;
  };

  /// Subscribes to `subject` with `lim`.
  static caf::expected<std::unique_ptr<nats_subscription>>
  subscribe(std::shared_ptr<nats_connection> conn, const std::string& subject,
            const limits& lim, handler f);

  /// Messages nats.c dropped because the handler fell behind the limits.
  uint64_t dropped() const;

  ~nats_subscription();

  nats_subscription(const nats_subscription&) = delete;
  nats_subscription& operator=(const nats_subscription&) = delete;

  /// Drains (see above) and waits at most 5 s.
  void close();

  /// Starts draining without waiting: call it on many subscriptions, then
  /// `close(deadline)` on each, to wait for all of them at once.
  void begin_close();

  /// Drains and waits until `deadline` at most.
  void close(std::chrono::steady_clock::time_point deadline);

  /// True once a drain started by `begin_close` finished (the handler will
  /// not run again; `close` then returns at once).
  bool drained() const;

  const std::string& subject() const {
    return subject_;
  }

  struct state;

private:
  static void keep_forever(std::shared_ptr<state> s);

  nats_subscription(std::shared_ptr<nats_connection> conn, std::string subject);

  std::shared_ptr<nats_connection> conn_;
  std::string subject_;
  std::shared_ptr<state> state_;
  bool closing_ = false;
  bool started_ = false;
};

} // namespace aether
