#pragma once

// Starts a real nats-server (JetStream enabled) on a free loopback port with
// a temporary store directory, and stops it again. Tests that need NATS use
// it; a missing nats-server binary fails the test (never a silent skip).

#include "temp_dir.hpp"

#include <arpa/inet.h>
#include <chrono>
#include <csignal>
#include <fstream>
#include <iterator>
#include <netinet/in.h>
#include <random>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace aether::test {

class nats_server {
public:
  nats_server() : port_(free_port()) {
    start();
  }

  /// Starts the server from a configuration file: `listen` and the JetStream
  /// store directory, then `extra_config` (authorization, tls, operator...).
  explicit nats_server(const std::string& extra_config) : port_(free_port()) {
    config_ = dir_.file("server.conf");
    std::ofstream out{config_};
    out << "listen: 127.0.0.1:" << port_ << "\n"
        << "jetstream { store_dir: \"" << dir_.file("js") << "\" }\n"
        << extra_config << "\n";
    out.close();
    start();
  }

  /// The temporary directory (for files the configuration refers to).
  std::string file(const std::string& name) const {
    return dir_.file(name);
  }

  ~nats_server() {
    stop(SIGTERM);
  }

  nats_server(const nats_server&) = delete;
  nats_server& operator=(const nats_server&) = delete;

  std::string url() const {
    return "nats://127.0.0.1:" + std::to_string(port_);
  }

  int port() const {
    return port_;
  }

  /// What the server logged so far (for a failing test's message).
  std::string log() const {
    std::ifstream in{dir_.file("nats-server.log")};
    return {std::istreambuf_iterator<char>{in},
            std::istreambuf_iterator<char>{}};
  }

  /// kill -9 and start again on the same port and store directory.
  void restart() {
    stop(SIGKILL);
    start();
  }

  void stop(int sig = SIGTERM) {
    if (pid_ <= 0)
      return;
    ::kill(pid_, sig);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  void start() {
    auto bin = binary();
    auto store = dir_.file("js");
    auto log = dir_.file("nats-server.log");
    auto ready_before = times_ready(); // the log of earlier runs is kept
    pid_ = ::fork();
    if (pid_ < 0)
      throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      auto port = std::to_string(port_);
      if (!freopen(log.c_str(), "a", stdout)
          || !freopen(log.c_str(), "a", stderr))
        _exit(126);
      if (!config_.empty())
        execl(bin.c_str(), bin.c_str(), "-c", config_.c_str(),
              static_cast<char*>(nullptr));
      else
        execl(bin.c_str(), bin.c_str(), "-a", "127.0.0.1", "-p", port.c_str(),
              "-js", "-sd", store.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    // Wait until it accepts connections (deadline: 15 s).
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{15};
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("nats-server exited at start; see " + log);
      }
      // Ready means this server said so in its own log: a bare accepting
      // port could be another test's server that took the port first.
      if (times_ready() > ready_before && accepts())
        return;
      std::this_thread::sleep_for(std::chrono::milliseconds{20});
    }
    stop(SIGKILL);
    throw std::runtime_error("nats-server did not start within 15 s");
  }

private:
  static std::string binary() {
    for (const char* p : {"/usr/sbin/nats-server", "/usr/bin/nats-server",
                          "/usr/local/bin/nats-server"})
      if (::access(p, X_OK) == 0)
        return p;
    throw std::runtime_error(
      "nats-server not found: run scripts/install-deps (make test does)");
  }

  int times_ready() const {
    auto text = log();
    int n = 0;
    for (auto at = text.find("Server is ready"); at != std::string::npos;
         at = text.find("Server is ready", at + 1))
      ++n;
    return n;
  }

  /// A free loopback port below the kernel's ephemeral range (from 32768
  /// here): a port the kernel hands out for port 0 may be taken again by
  /// any outgoing connection before the server binds it.
  static int free_port() {
    std::random_device seed;
    std::minstd_rand rng{seed()};
    std::uniform_int_distribution<int> pick{10000, 32767};
    for (int attempt = 0; attempt < 200; ++attempt) {
      int port = pick(rng);
      int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      addr.sin_port = htons(static_cast<uint16_t>(port));
      bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr))
                == 0;
      ::close(fd);
      if (ok)
        return port;
    }
    return pick(rng);
  }

  bool accepts() const {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port_));
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr))
              == 0;
    ::close(fd);
    return ok;
  }

  temp_dir dir_;
  int port_;
  std::string config_;
  pid_t pid_ = -1;
};

} // namespace aether::test
