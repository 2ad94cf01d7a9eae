#pragma once

#include <chrono>
#include <string>

namespace aether::tool {

/// How the `aether` command reaches a store beyond its URL: the JetStream
/// store's namespace and stream names, and NATS credentials and TLS.
struct store_options {
  /// JetStream: the store's namespace and stream names.
  std::string ns = "default";
  std::string stream = "events";
  std::string snapshot_stream = "snapshots";
  /// NATS: a `.creds` file, or a token.
  std::string credentials_file;
  std::string token;
  /// NATS: TLS (implied by `tls://` URLs, a CA, or a client certificate).
  bool tls = false;
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  /// Bound of every store call and of connecting.
  std::chrono::milliseconds timeout{5000};
};

} // namespace aether::tool
