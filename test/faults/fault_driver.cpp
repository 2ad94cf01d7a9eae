// Fault-test driver: persistent actors write under load until the process is
// killed; every acknowledged event is logged as "<actor> <version> <tag>"
// (flushed before the next command), so a checker can compare the log with
// the store after a kill -9.
//
//   fault_driver drive <sqlite:PATH | jetstream:URL> <log file> <writer id>
//   fault_driver check <sqlite:PATH | jetstream:URL> <log file>
#include "aether/jetstream/jetstream_store.hpp"
#include "aether/runtime/config.hpp"
#include "aether/sqlite/sqlite_store.hpp"
#include "fault_actor.hpp"

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

using namespace aether;
using namespace aether::test;
using namespace std::chrono_literals;

namespace {

constexpr int actors = 4;

std::shared_ptr<event_store_with_snapshots>
open_store(const std::string& spec) {
  if (spec.rfind("sqlite:", 0) == 0) {
    auto s = sqlite_store::open(spec.substr(7));
    if (!s)
      throw std::runtime_error(describe(s.error()));
    return std::move(*s);
  }
  if (spec.rfind("jetstream:", 0) == 0) {
    nats_options o;
    o.servers = {spec.substr(10)};
    auto c = nats_connection::connect(o);
    if (!c)
      throw std::runtime_error(describe(c.error()));
    jetstream_store::options so;
    so.ns = "faults";
    auto s = jetstream_store::open(*c, so);
    if (!s)
      throw std::runtime_error(describe(s.error()));
    return std::move(*s);
  }
  throw std::runtime_error("unknown store: " + spec);
}

int drive(const std::string& spec, const std::string& log_path,
          const std::string& writer) {
  auto store = open_store(spec);
  aether::config cfg;
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  auto ctx = store_context::make(sys, store);
  persistence_options opts;
  opts.snapshots.every_events(25);
  opts.log = [](const std::string&) {};
  auto* log = std::fopen(log_path.c_str(), "a");
  if (!log)
    throw std::runtime_error("cannot open " + log_path);
  std::mutex log_mtx;
  std::vector<std::thread> ts;
  for (int i = 0; i < actors; ++i)
    ts.emplace_back([&, i] {
      auto id = "f-" + std::to_string(i);
      auto a = sys.spawn<fault_actor>(id, ctx, opts);
      caf::scoped_actor self{sys};
      for (int64_t seq = 1;; ++seq) {
        auto tag = writer + "-" + id + "-" + std::to_string(seq);
        self->request(a, 10s, add_atom::value, tag)
          .receive(
            [&](int64_t version) {
              std::lock_guard<std::mutex> guard{log_mtx};
              std::fprintf(log, "%s %lld %s\n", id.c_str(),
                           static_cast<long long>(version), tag.c_str());
              std::fflush(log); // in the kernel before the next command
            },
            [&](caf::error&) {
              // Not acknowledged: the actor stops on an unknown outcome;
              // start a fresh one, which recovers from the store.
              a = sys.spawn<fault_actor>(id, ctx, opts);
            });
      }
    });
  for (auto& t : ts)
    t.join(); // never returns: the test kills the process
  return 0;
}

int check(const std::string& spec, const std::string& log_path) {
  auto store = open_store(spec);
  std::map<std::string, std::map<int64_t, std::string>> acked;
  std::ifstream in{log_path};
  size_t lines = 0;
  int failures = 0;
  auto fail = [&](const std::string& what) {
    if (++failures <= 20)
      std::cerr << "FAIL: " << what << "\n";
  };
  for (std::string line; std::getline(in, line);) {
    std::istringstream ls{line};
    std::string actor, tag;
    int64_t version = 0;
    if (!(ls >> actor >> version >> tag))
      continue; // a line cut by the kill (never acknowledged to anyone)
    ++lines;
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
  size_t events = 0;
  for (int i = 0; i < actors; ++i) {
    auto id = "f-" + std::to_string(i);
    auto all = store->get_events(id, 1);
    if (!all) {
      fail(id + ": " + describe(all.error()));
      continue;
    }
    events += all->size();
    std::set<std::string> tags;
    for (size_t k = 0; k < all->size(); ++k) {
      auto& e = (*all)[k];
      if (e.version != static_cast<int64_t>(k + 1))
        fail(id + ": versions not contiguous at " + std::to_string(k + 1));
      auto tag = std::string{e.data.at("tag").as_string()};
      if (!tags.insert(tag).second)
        fail(id + ": event " + tag + " stored twice");
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
  std::cout << "fault check: " << lines << " acknowledged events in the log, "
            << events << " events in the store, " << failures << " failures"
            << std::endl;
  return failures == 0 && lines > 0 ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
  try {
    std::string cmd = argc > 1 ? argv[1] : "";
    if (cmd == "drive" && argc == 5)
      return drive(argv[2], argv[3], argv[4]);
    if (cmd == "check" && argc == 4)
      return check(argv[2], argv[3]);
    std::cerr << "usage: fault_driver drive <store> <log> <writer> | "
                 "fault_driver check <store> <log>\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "fault_driver: " << e.what() << "\n";
    return 1;
  }
}
