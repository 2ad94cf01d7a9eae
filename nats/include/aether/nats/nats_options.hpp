#pragma once

#include <caf/fwd.hpp>
#include <chrono>
#include <string>
#include <vector>

namespace aether {

/// How to reach NATS: used by the JetStream store and the NATS bridge alike.
struct nats_options {
  /// Server URLs, e.g. `nats://127.0.0.1:4222` (several for a cluster).
  std::vector<std::string> servers{"nats://127.0.0.1:4222"};
  /// The connection's name as the server shows it.
  std::string name = "aether";
  /// User and password (or put them into the URL).
  std::string user;
  std::string password;
  /// Token authentication.
  std::string token;
  /// A `.creds` file (JWT and NKey seed).
  std::string credentials_file;
  /// TLS: require it, verify the server with `tls_ca`, and present
  /// `tls_cert` / `tls_key` when the server asks for a client certificate.
  bool tls = false;
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  /// Timeout of the first connect.
  std::chrono::milliseconds connect_timeout{2000};
  /// Wait between reconnect attempts; -1 attempts means forever.
  std::chrono::milliseconds reconnect_wait{250};
  int max_reconnect = -1;
  /// How long a JetStream request (publish, read) may take before it fails.
  std::chrono::milliseconds request_timeout{5000};
  /// true: nats.c writes every publish to the socket at once (lowest
  /// latency). false: publishes gather in nats.c's buffer and go out when it
  /// fills, on `nats_connection::flush`, or after about 1 ms (fewer writes;
  /// for a connection that carries bursts and flushes, as the NATS bridge's).
  bool send_asap = true;

  /// Reads `aether.nats.*` from CAF's config: `servers` (list), `name`,
  /// `user`, `password`, `token`, `credentials`, `tls`, `tls-ca`, `tls-cert`,
  /// `tls-key`, `connect-timeout`, `reconnect-wait`, `max-reconnect`,
  /// `request-timeout`, `send-asap`. Declare them with `add_nats_options`.
  static nats_options from_config(const caf::actor_system_config& cfg);
};

/// Declares the `aether.nats.*` options in a CAF config option set.
void add_nats_options(caf::config_option_set& options);

} // namespace aether
