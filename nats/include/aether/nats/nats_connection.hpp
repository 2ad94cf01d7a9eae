#pragma once

#include "aether/nats/nats_options.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <memory>
#include <string>

// nats.c types (from <nats/nats.h>), kept out of this header.
struct __natsConnection;
struct __jsCtx;

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

  const nats_options& options() const {
    return opts_;
  }

private:
  nats_connection(nats_options opts, __natsConnection* conn, __jsCtx* js);

  nats_options opts_;
  __natsConnection* conn_;
  __jsCtx* js_;
};

/// Maps a nats.c status (and JetStream error code) to a persistence error
/// whose description starts with `what`.
caf::error make_nats_error(int status, int js_error, const std::string& what);

} // namespace aether
