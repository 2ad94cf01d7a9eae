#pragma once

#include "aether/nats/nats_connection.hpp"

#include <chrono>
#include <nats/nats.h>

namespace aether {

/// The nats.c handles of a connection, for the classes of the nats
/// component (subscriptions, JetStream, key-value buckets) only.
struct detail_nats_access {
  static natsConnection* conn(const nats_connection& c) {
    return c.conn_;
  }

  static jsCtx* js(const nats_connection& c) {
    return c.js_;
  }

  /// Publishes `msg` asynchronously (nats.c takes it on success and `msg`
  /// becomes null); `done` runs once on a nats.c thread with the ack.
  static bool publish_async(nats_connection& c, natsMsg*& msg,
                            std::chrono::milliseconds timeout,
                            nats_connection::raw_ack done);

  /// nats.c's ack handler (the closure is the connection).
  static void on_ack(jsCtx*, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae,
                     void* closure);
};

/// The options of a JetStream request bounded by `timeout`.
inline jsOptions js_options(std::chrono::milliseconds timeout) {
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = timeout.count();
  return jo;
}

} // namespace aether
