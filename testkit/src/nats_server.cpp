#include "aether/testkit/nats_server.hpp"

#include <arpa/inet.h>
#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <netinet/in.h>
#include <random>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace aether::testkit {

namespace {

std::string binary() {
  for (const char* p : {"/usr/sbin/nats-server", "/usr/bin/nats-server",
                        "/usr/local/bin/nats-server"})
    if (::access(p, X_OK) == 0)
      return p;
  throw std::runtime_error(
    "nats-server not found: install the Debian package nats-server");
}

/// A free loopback port below the kernel's ephemeral range (from 32768
/// here): a port the kernel hands out for port 0 may be taken again by any
/// outgoing connection before the server binds it.
int free_port() {
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
    bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    ::close(fd);
    if (ok)
      return port;
  }
  return pick(rng);
}

} // namespace

nats_server::nats_server() : port_(free_port()) {
  start();
}

nats_server::nats_server(const std::string& extra_config) : port_(free_port()) {
  config_ = dir_.file("server.conf");
  std::ofstream out{config_};
  out << "listen: 127.0.0.1:" << port_ << "\n"
      << "jetstream { store_dir: \"" << dir_.file("js") << "\" }\n"
      << extra_config << "\n";
  out.close();
  start();
}

nats_server::~nats_server() {
  stop(SIGTERM);
}

std::string nats_server::file(const std::string& name) const {
  return dir_.file(name);
}

std::string nats_server::url() const {
  return "nats://127.0.0.1:" + std::to_string(port_);
}

std::string nats_server::log() const {
  std::ifstream in{dir_.file("nats-server.log")};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

void nats_server::restart() {
  stop(SIGKILL);
  start();
}

void nats_server::stop(int sig) {
  if (pid_ <= 0)
    return;
  ::kill(pid_, sig);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

void nats_server::start() {
  auto bin = binary();
  auto store = dir_.file("js");
  auto log = dir_.file("nats-server.log");
  // The log of earlier runs is kept: only what follows it counts. (Reading
  // the whole log instead grew with every restart: a model test restarting
  // hundreds of times, each start logging the restore of every stream,
  // spent minutes re-reading megabytes under ASan.)
  std::error_code ec;
  auto offset = std::filesystem::file_size(log, ec);
  if (ec)
    offset = 0;
  // Everything the child needs is built before the fork: a child of a
  // threaded process may only make async-signal-safe calls.
  auto port = std::to_string(port_);
  std::vector<std::string> args{bin};
  if (!config_.empty())
    args.insert(args.end(), {"-c", config_});
  else
    args.insert(args.end(),
                {"-a", "127.0.0.1", "-p", port, "-js", "-sd", store});
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd < 0)
    throw std::runtime_error("cannot open " + log);
  pid_ = ::fork();
  if (pid_ < 0) {
    ::close(fd);
    throw std::runtime_error("fork failed");
  }
  if (pid_ == 0) {
    if (::dup2(fd, STDOUT_FILENO) < 0 || ::dup2(fd, STDERR_FILENO) < 0)
      _exit(126);
    ::execv(argv[0], argv.data());
    _exit(127);
  }
  ::close(fd);
  // Wait until it accepts connections (deadline: 15 s).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{15};
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("nats-server exited at start; see " + log);
    }
    // Ready means this server said so in its own log: a bare accepting port
    // could be another test's server that took the port first.
    if (ready_since(offset) && accepts())
      return;
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  stop(SIGKILL);
  throw std::runtime_error("nats-server did not start within 15 s");
}

bool nats_server::ready_since(std::uintmax_t offset) const {
  std::ifstream in{dir_.file("nats-server.log")};
  in.seekg(static_cast<std::streamoff>(offset));
  for (std::string line; std::getline(in, line);)
    if (line.find("Server is ready") != std::string::npos)
      return true;
  return false;
}

bool nats_server::accepts() const {
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

} // namespace aether::testkit
