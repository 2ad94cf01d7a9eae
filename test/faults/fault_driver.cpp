// Fault-test driver: persistent actors write under load until the process is
// killed (or for a given number of seconds); every acknowledged event is
// logged as "<actor> <version> <tag>" and every refused or failed command as
// "! <actor> <kind> <milliseconds> <tag>" (flushed before the next command),
// so a checker can compare the log with the store afterwards.
//
//   fault_driver drive <store> <log file> <writer id> [seconds [pause us]]
//   fault_driver cluster <store> <log file> <node id> [seconds]
//   fault_driver check <store> <log file> [--strict] [--max-failure-ms N]
//
// `cluster` (JetStream only) joins the cluster "faults" as <node id> and
// writes the cluster's actors (f-0 .. f-11) through its router: each actor
// runs on the one node that owns its shard, whichever node sends. Every node
// prints "lost its membership" when it finds its leases void (paused past
// the lease TTL). SIGTERM leaves the cluster gracefully.
//
// With a pause, each actor waits a random 0..pause microseconds between
// commands, and before one command in 10 a long pause of 125..250 ms: two
// writers on the same actors then take turns instead of the faster one
// winning every race. The loser of a race recovers (latest version, snapshot,
// events after it) before it writes again, which takes tens of milliseconds
// under AddressSanitizer on a 3-replica stream: short pauses alone let one
// writer win every race (seen in CI: 0 acknowledgements for w2), the long
// ones give the loser a window on every actor every second or so.
// <store> is sqlite:PATH or jetstream:URL[,URL...]; with three or more URLs
// (a cluster) the streams get 3 replicas. --strict (for runs that end
// by themselves, not by a kill) also demands that every stored event was
// acknowledged or had an unknown outcome, and that no refused write (kind
// unavailable, version_conflict, not_started) is in the store.
#include "aether/cluster/cluster.hpp"
#include "aether/jetstream/jetstream_store.hpp"
#include "aether/runtime/config.hpp"
#include "aether/runtime/runtime_error.hpp"
#include "aether/sqlite/sqlite_store.hpp"
#include "fault_actor.hpp"

#include <atomic>
#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

using namespace aether;
using namespace aether::test;
using namespace std::chrono_literals;

namespace {

constexpr int actors = 4;
// Before one command in long_pause_every, a pause of long_pause_us/2 ..
// long_pause_us (see "With a pause" above).
constexpr int long_pause_every = 10;
constexpr int long_pause_us = 250000;

// Actors of the cluster mode (more than nodes and shards per node).
constexpr int cluster_actors = 12;

// SIGTERM ends a timed run after the commands in flight.
std::atomic<bool> stop_requested{false};

extern "C" void on_sigterm(int) {
  stop_requested = true;
}
// How long a JetStream request may take before it fails.
constexpr auto request_timeout = 2000ms;

// The kind of a failed command, as the log and the checker name it.
std::string kind_of(const caf::error& err) {
  if (is(err, persistence_error::version_conflict))
    return "version_conflict";
  if (is(err, persistence_error::unavailable))
    return "unavailable";
  if (is(err, persistence_error::unknown_outcome))
    return "unknown_outcome";
  if (is(err, runtime_error::persist_timeout))
    return "persist_timeout";
  // The actor never ran the command: its recovery failed, or it had
  // stopped before the command arrived (after a failed re-recovery).
  if (is(err, runtime_error::recovery_failed)
      || is(err, runtime_error::recovery_timeout)
      || err == caf::sec::request_receiver_down)
    return "not_started";
  return "other";
}

// Refused writes: the store says nothing was stored.
bool refused(const std::string& kind) {
  return kind == "version_conflict" || kind == "unavailable"
         || kind == "not_started";
}

/// The NATS options of a `jetstream:URL[,URL...]` store spec.
nats_options nats_options_of(const std::string& spec,
                             std::chrono::milliseconds timeout) {
  nats_options o;
  o.servers.clear();
  std::istringstream urls{spec.substr(10)};
  for (std::string u; std::getline(urls, u, ',');)
    o.servers.push_back(u);
  o.reconnect_wait = 100ms;
  o.request_timeout = timeout;
  return o;
}

/// The acknowledgement log: one line per acknowledged or failed command,
/// each in the kernel before the next command.
class ack_log {
public:
  explicit ack_log(const std::string& path)
    : file_(std::fopen(path.c_str(), "a")) {
    if (!file_)
      throw std::runtime_error("cannot open " + path);
  }
  ~ack_log() {
    std::fclose(file_);
  }
  /// Logs the outcome of the command `tag` sent at `start`; returns the
  /// failure's kind, or an empty string for an acknowledgement.
  std::string record(const std::string& id, const std::string& tag,
                     std::chrono::steady_clock::time_point start,
                     const caf::expected<int64_t>& outcome) {
    if (outcome) {
      write(id + " " + std::to_string(*outcome) + " " + tag + "\n");
      return {};
    }
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - start)
                .count();
    auto kind = kind_of(outcome.error());
    write("! " + id + " " + kind + " " + std::to_string(ms) + " " + tag + "\n");
    return kind;
  }

private:
  void write(const std::string& line) {
    std::lock_guard<std::mutex> guard{mtx_};
    std::fputs(line.c_str(), file_);
    std::fflush(file_);
  }
  std::FILE* file_;
  std::mutex mtx_;
};

std::shared_ptr<event_store_with_snapshots>
open_store(const std::string& spec,
           std::chrono::milliseconds timeout = request_timeout) {
  if (spec.rfind("sqlite:", 0) == 0) {
    auto s = sqlite_store::open(spec.substr(7));
    if (!s)
      throw std::runtime_error(describe(s.error()));
    return std::move(*s);
  }
  if (spec.rfind("jetstream:", 0) == 0) {
    auto o = nats_options_of(spec, timeout);
    auto c = nats_connection::connect(o);
    if (!c)
      throw std::runtime_error(describe(c.error()));
    jetstream_store::options so;
    so.ns = "faults";
    so.replicas = o.servers.size() >= 3 ? 3 : 1;
    so.timeout = timeout;
    auto s = jetstream_store::open(*c, so);
    if (!s)
      throw std::runtime_error(describe(s.error()));
    return std::move(*s);
  }
  throw std::runtime_error("unknown store: " + spec);
}

// As a node would: retries opening the store for 30 s while the servers
// settle, saying why (`who` names the process in the log).
std::shared_ptr<event_store_with_snapshots>
open_store_retrying(const std::string& spec, const std::string& who) {
  std::shared_ptr<event_store_with_snapshots> store;
  for (auto until = std::chrono::steady_clock::now() + 30s; !store;) {
    try {
      store = open_store(spec);
    } catch (const std::exception& e) {
      if (std::chrono::steady_clock::now() > until)
        throw;
      std::cerr << who << ": " << e.what() << "; retrying" << std::endl;
      std::this_thread::sleep_for(200ms);
    }
  }
  return store;
}

int drive(const std::string& spec, const std::string& log_path,
          const std::string& writer, int seconds, int max_pause_us) {
  auto store = open_store_retrying(spec, writer);
  aether::config cfg;
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  auto ctx = store_context::make(sys, store);
  persistence_options opts;
  opts.snapshots.every_events(25);
  opts.persist_timeout = 3 * request_timeout;
  opts.log = [](const std::string&) {};
  ack_log log{log_path};
  // Without a time limit the loop runs until the test kills the process;
  // with one, it also ends on SIGTERM.
  auto deadline = seconds > 0 ? std::chrono::steady_clock::now()
                                  + std::chrono::seconds{seconds}
                              : std::chrono::steady_clock::time_point::max();
  if (seconds > 0)
    std::signal(SIGTERM, on_sigterm);
  auto going = [&] {
    return !stop_requested && std::chrono::steady_clock::now() < deadline;
  };
  std::vector<std::thread> ts;
  for (int i = 0; i < actors; ++i)
    ts.emplace_back([&, i] {
      auto id = "f-" + std::to_string(i);
      auto a = sys.spawn<fault_actor>(id, ctx, opts);
      caf::scoped_actor self{sys};
      std::minstd_rand rng{std::random_device{}()};
      std::uniform_int_distribution<int> pause{0, max_pause_us};
      std::uniform_int_distribution<int> one_in{0, long_pause_every - 1};
      std::uniform_int_distribution<int> long_pause{long_pause_us / 2,
                                                    long_pause_us};
      for (int64_t seq = 1; going(); ++seq) {
        if (max_pause_us > 0)
          std::this_thread::sleep_for(std::chrono::microseconds{
            one_in(rng) == 0 ? long_pause(rng) : pause(rng)});
        auto tag = writer + "-" + id + "-" + std::to_string(seq);
        auto start = std::chrono::steady_clock::now();
        caf::expected<int64_t> outcome = caf::error{};
        self->request(a, 10s, add_atom::value, tag)
          .receive(
            [&](int64_t version) {
              outcome = version;
            },
            [&](caf::error& err) {
              outcome = std::move(err);
            });
        auto kind = log.record(id, tag, start, outcome);
        if (!kind.empty()) {
          if (kind == "other")
            std::cerr << writer << " " << id << ": "
                      << describe(outcome.error()) << std::endl;
          // A conflict re-recovers the actor itself. Otherwise it may
          // have stopped (an unknown outcome stops it): start a fresh
          // one, which recovers from the store, after a short pause so
          // that an outage is not a busy loop.
          if (kind == "version_conflict")
            continue;
          self->send_exit(a, caf::exit_reason::kill);
          std::this_thread::sleep_for(50ms);
          a = sys.spawn<fault_actor>(id, ctx, opts);
        }
      }
      self->send_exit(a, caf::exit_reason::user_shutdown);
    });
  for (auto& t : ts)
    t.join();
  return 0;
}

int run_node(const std::string& spec, const std::string& log_path,
             const std::string& node_id, int seconds) {
  if (spec.rfind("jetstream:", 0) != 0)
    throw std::runtime_error("cluster mode needs a jetstream store");
  auto store = open_store_retrying(spec, node_id);
  auto no = nats_options_of(spec, request_timeout);
  no.name = "fault-node-" + node_id;
  auto conn = nats_connection::connect(no);
  if (!conn)
    throw std::runtime_error(describe(conn.error()));
  aether::config cfg;
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  auto ctx = store_context::make(sys, store);
  persistence_options opts;
  opts.snapshots.every_events(25);
  opts.persist_timeout = 3 * request_timeout;
  opts.log = [](const std::string&) {};
  cluster_options co;
  co.name = "faults";
  co.node_id = node_id;
  co.shard_count = 16;
  co.lease_ttl = 3s;
  co.renew_interval = 1s;
  co.poll_interval = 200ms;
  co.replicas = no.servers.size() >= 3 ? 3 : 1;
  co.request_timeout = 10s;
  co.unavailable_timeout = 20s;
  entity_types types;
  types["fault"] = [&](caf::actor_system& s, const std::string& id) {
    return s.spawn<fault_actor>(id, ctx, opts);
  };
  std::shared_ptr<cluster> node;
  for (auto until = std::chrono::steady_clock::now() + 30s; !node;) {
    auto joined = cluster::join(sys, *conn, co, types);
    if (joined) {
      node = *joined;
    } else {
      if (std::chrono::steady_clock::now() > until)
        throw std::runtime_error(describe(joined.error()));
      std::cerr << node_id << ": cannot join: " << describe(joined.error())
                << "; retrying" << std::endl;
      std::this_thread::sleep_for(200ms);
    }
  }
  std::cerr << node_id << ": joined" << std::endl;
  ack_log log{log_path};
  auto deadline = std::chrono::steady_clock::now()
                  + std::chrono::seconds{seconds > 0 ? seconds : 3600};
  std::signal(SIGTERM, on_sigterm);
  std::vector<std::thread> ts;
  for (int i = 0; i < cluster_actors; ++i)
    ts.emplace_back([&, i] {
      auto id = "f-" + std::to_string(i);
      caf::scoped_actor self{sys};
      for (int64_t seq = 1;
           !stop_requested && std::chrono::steady_clock::now() < deadline;
           ++seq) {
        auto tag = node_id + "-" + std::to_string(::getpid()) + "-" + id + "-"
                   + std::to_string(seq);
        auto start = std::chrono::steady_clock::now();
        caf::expected<int64_t> outcome = caf::error{};
        self
          ->request(node->router(), 60s, route_atom::value,
                    std::string{"fault"}, id,
                    caf::make_message(add_atom::value, tag))
          .receive(
            [&](int64_t version) {
              outcome = version;
            },
            [&](caf::error& err) {
              outcome = std::move(err);
            });
        if (!log.record(id, tag, start, outcome).empty()) {
          std::cerr << node_id << " " << id << ": " << describe(outcome.error())
                    << std::endl;
          std::this_thread::sleep_for(50ms);
        }
      }
    });
  // Ownership changes, for the script: it stops a node only once that node
  // owns shards (a node that owns none has nothing to fail over).
  std::thread owners{[&] {
    size_t last = std::numeric_limits<size_t>::max();
    while (!stop_requested && std::chrono::steady_clock::now() < deadline) {
      auto n = node->owned_shards().size();
      if (n != last)
        std::cerr << node_id << ": owns " << n << " shards" << std::endl;
      last = n;
      std::this_thread::sleep_for(100ms);
    }
  }};
  for (auto& t : ts)
    t.join();
  owners.join();
  std::cerr << node_id << ": leaving" << std::endl;
  node->leave();
  node.reset();
  return 0;
}

struct failure {
  std::string actor;
  std::string kind;
  int64_t ms = 0;
};

int check(const std::string& spec, const std::string& log_path, bool strict,
          int64_t max_failure_ms) {
  // Generous timeouts: a cluster may still be settling after the run.
  auto store = open_store(spec, 10s);
  std::map<std::string, std::map<int64_t, std::string>> acked;
  std::set<std::string> acked_tags;
  std::map<std::string, failure> failed; // by tag
  std::map<std::string, size_t> kinds;
  std::ifstream in{log_path};
  size_t lines = 0;
  int64_t slowest = 0;
  int failures = 0;
  auto fail = [&](const std::string& what) {
    if (++failures <= 20)
      std::cerr << "FAIL: " << what << "\n";
  };
  for (std::string line; std::getline(in, line);) {
    std::istringstream ls{line};
    if (line.rfind("! ", 0) == 0) {
      std::string bang, tag;
      failure f;
      if (!(ls >> bang >> f.actor >> f.kind >> f.ms >> tag))
        continue; // a line cut by a kill
      kinds[f.kind] += 1;
      slowest = std::max(slowest, f.ms);
      if (max_failure_ms > 0 && f.ms > max_failure_ms)
        fail(tag + " failed with " + f.kind + " only after "
             + std::to_string(f.ms) + " ms");
      failed[tag] = f;
      continue;
    }
    std::string actor, tag;
    int64_t version = 0;
    if (!(ls >> actor >> version >> tag))
      continue; // a line cut by the kill (never acknowledged to anyone)
    ++lines;
    acked_tags.insert(tag);
    auto [it, fresh] = acked[actor].emplace(version, tag);
    if (!fresh && it->second != tag)
      fail(actor + " version " + std::to_string(version)
           + " acknowledged twice with different events");
  }
  aether::config cfg;
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  auto ctx = store_context::make(sys, store);
  caf::scoped_actor self{sys};
  size_t events = 0, unknown_landed = 0, unknown_absent = 0;
  std::set<std::string> stored_tags;
  std::set<std::string> ids;
  for (int i = 0; i < actors; ++i)
    ids.insert("f-" + std::to_string(i));
  for (auto& kv : acked)
    ids.insert(kv.first);
  for (auto& kv : failed)
    ids.insert(kv.second.actor);
  for (auto& id : ids) {
    auto all = store->get_events(id, 1);
    for (int attempt = 1; !all && attempt < 3; ++attempt)
      all = store->get_events(id, 1);
    if (!all) {
      fail(id + ": " + describe(all.error()));
      continue;
    }
    events += all->size();
    for (size_t k = 0; k < all->size(); ++k) {
      auto& e = (*all)[k];
      if (e.version != static_cast<int64_t>(k + 1))
        fail(id + ": versions not contiguous at " + std::to_string(k + 1));
      auto tag = std::string{e.data.at("tag").as_string()};
      if (!stored_tags.insert(tag).second)
        fail(id + ": event " + tag + " stored twice");
      auto f = failed.find(tag);
      if (f != failed.end() && refused(f->second.kind))
        fail(id + ": " + tag + " was refused (" + f->second.kind
             + ") but is stored at version " + std::to_string(k + 1));
      else if (strict && f == failed.end() && acked_tags.count(tag) == 0)
        fail(id + ": " + tag + " is stored but was neither acknowledged "
             + "nor failed with an unknown outcome (phantom)");
    }
    for (auto& [version, tag] : acked[id]) {
      if (version < 1 || version > static_cast<int64_t>(all->size()))
        fail(id + " version " + std::to_string(version)
             + " acknowledged but lost");
      else if (std::string{(*all)[static_cast<size_t>(version - 1)]
                             .data.at("tag")
                             .as_string()}
               != tag)
        fail(id + " version " + std::to_string(version)
             + " holds another event than the acknowledged " + tag);
    }
    // Recovery (snapshot + replay) gives the state a full replay gives.
    persistence_options opts;
    opts.log = [](const std::string&) {};
    auto a = sys.spawn<fault_actor>(id, ctx, opts);
    self->request(a, 30s, get_atom::value)
      .receive(
        [&](const std::vector<int64_t>& x) {
          if (x[0] != static_cast<int64_t>(all->size())
              || x[1] != static_cast<int64_t>(all->size()))
            fail(id + ": recovered state differs from the full replay");
        },
        [&](caf::error& err) {
          fail(id + ": recovery failed: " + describe(err));
        });
    self->send_exit(a, caf::exit_reason::user_shutdown);
  }
  for (auto& [tag, f] : failed)
    if (!refused(f.kind))
      ++(stored_tags.count(tag) ? unknown_landed : unknown_absent);
  std::cout << "fault check: " << lines << " acknowledged events in the log, "
            << events << " events in the store";
  for (auto& [kind, n] : kinds)
    std::cout << ", " << n << " " << kind;
  if (!failed.empty())
    std::cout << " (unknown outcomes: " << unknown_landed << " landed once, "
              << unknown_absent << " not at all; slowest failure " << slowest
              << " ms)";
  std::cout << ", " << failures << " failures" << std::endl;
  return failures == 0 && lines > 0 ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
  try {
    std::string cmd = argc > 1 ? argv[1] : "";
    if (cmd == "drive" && argc >= 5 && argc <= 7)
      return drive(argv[2], argv[3], argv[4],
                   argc >= 6 ? std::stoi(argv[5]) : 0,
                   argc == 7 ? std::stoi(argv[6]) : 0);
    if (cmd == "cluster" && argc >= 5 && argc <= 6)
      return run_node(argv[2], argv[3], argv[4],
                      argc == 6 ? std::stoi(argv[5]) : 0);
    if (cmd == "check" && argc >= 4) {
      bool strict = false;
      int64_t max_failure_ms = 0;
      for (int i = 4; i < argc; ++i) {
        std::string flag = argv[i];
        if (flag == "--strict")
          strict = true;
        else if (flag == "--max-failure-ms" && i + 1 < argc)
          max_failure_ms = std::stoll(argv[++i]);
        else
          throw std::runtime_error("unknown flag " + flag);
      }
      return check(argv[2], argv[3], strict, max_failure_ms);
    }
    std::cerr << "usage: fault_driver drive <store> <log> <writer> [seconds "
                 "[pause us]] "
                 "| fault_driver check <store> <log> [--strict] "
                 "[--max-failure-ms N]\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "fault_driver: " << e.what() << "\n";
    return 1;
  }
}
