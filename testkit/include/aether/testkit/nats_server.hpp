#pragma once

#include "aether/testkit/temp_dir.hpp"

#include <cstdint>
#include <string>
#include <sys/types.h>

namespace aether::testkit {

/// A real nats-server (JetStream enabled) on a free loopback port with a
/// temporary store directory, stopped when the object goes away. Tests that
/// need NATS start one: a missing nats-server binary, or a server that does
/// not start within 15 s, throws `std::runtime_error` (never a silent skip).
class nats_server {
public:
  /// Starts `nats-server -js` on loopback.
  nats_server();

  /// Starts the server from a configuration file: `listen` and the JetStream
  /// store directory, then `extra_config` (authorization, tls, operator...).
  explicit nats_server(const std::string& extra_config);

  ~nats_server();

  nats_server(const nats_server&) = delete;
  nats_server& operator=(const nats_server&) = delete;

  /// The temporary directory (for files the configuration refers to).
  std::string file(const std::string& name) const;

  /// "nats://127.0.0.1:<port>".
  std::string url() const;

  int port() const {
    return port_;
  }

  /// What the server logged so far (for a failing test's message).
  std::string log() const;

  /// kill -9 and start again on the same port and store directory.
  void restart();

  /// Stops the server with `sig` and waits for it.
  void stop(int sig = 15);

  /// Starts it again (after `stop`), on the same port and directory.
  void start();

private:
  /// Whether the log says "Server is ready" after byte `offset`.
  bool ready_since(std::uintmax_t offset) const;
  bool accepts() const;

  temp_dir dir_;
  int port_;
  std::string config_;
  pid_t pid_ = -1;
};

} // namespace aether::testkit
