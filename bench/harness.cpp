#include "harness.hpp"

#include "aether/core/error.hpp"
#include "aether/testkit/nats_server.hpp"
#include "bench_state.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <malloc.h>
#include <string>
#include <unistd.h>

namespace aether::bench {

void add_store_options(CLI::App& sub, std::string& store, std::string& sync) {
  sub.add_option("--store", store, "the store")
    ->check(CLI::IsMember({"memory", "sqlite", "jetstream"}))
    ->capture_default_str();
  sub.add_option("--sync", sync, "SQLite synchronous mode")
    ->check(CLI::IsMember({"full", "normal"}))
    ->capture_default_str();
}

void emit(const boost::json::object& o) {
  std::cout << boost::json::serialize(o) << std::endl;
}

double ms_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t0)
    .count();
}

size_t resident_bytes() {
  long pages = 0, resident = 0;
  if (auto* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2)
      resident = 0;
    std::fclose(f);
  }
  return static_cast<size_t>(resident)
         * static_cast<size_t>(::sysconf(_SC_PAGESIZE));
}

/// Bytes the program has allocated and not freed, over all of malloc's
/// arenas (from `malloc_info`'s totals: memory taken from the system minus
/// free chunks, plus mmapped chunks). Unlike the resident size it does not
/// count freed memory that malloc keeps, nor miss memory reused.
size_t heap_bytes_in_use() {
  char* buf = nullptr;
  size_t len = 0;
  auto* f = open_memstream(&buf, &len);
  if (f == nullptr)
    return 0;
  malloc_info(0, f);
  std::fclose(f);
  std::string xml{buf, len};
  std::free(buf);
  // The totals over all arenas are the last lines.
  auto value = [&](const std::string& tag) -> size_t {
    auto at = xml.rfind(tag);
    if (at == std::string::npos)
      return 0;
    auto size = xml.find("size=\"", at);
    return std::strtoull(xml.c_str() + size + 6, nullptr, 10);
  };
  auto system = value("<system type=\"current\"");
  auto free_fast = value("<total type=\"fast\"");
  auto free_rest = value("<total type=\"rest\"");
  auto mapped = value("<total type=\"mmap\"");
  return system - free_fast - free_rest + mapped;
}

double median(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  auto n = xs.size();
  return n % 2 == 1 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
}

double spread(const std::vector<double>& xs) {
  auto [lo, hi] = std::minmax_element(xs.begin(), xs.end());
  return *hi - *lo;
}

temp_folder::temp_folder() {
  path = std::filesystem::temp_directory_path()
         / ("aether-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(path);
}

temp_folder::~temp_folder() {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

// -- JetStream: a server of its own unless --nats-url is given ----------------

std::string nats_url;
namespace {

std::unique_ptr<aether::testkit::nats_server> own_server;

} // namespace

std::shared_ptr<nats_connection> nats() {
  static std::shared_ptr<nats_connection> conn;
  if (!conn) {
    if (nats_url.empty()) {
      own_server = std::make_unique<aether::testkit::nats_server>();
      nats_url = own_server->url();
    }
    nats_options o;
    o.servers = {nats_url};
    auto c = nats_connection::connect(o);
    if (!c)
      throw std::runtime_error(describe(c.error()));
    conn = *c;
  }
  return conn;
}

std::shared_ptr<jetstream_store> make_jetstream(const std::string& name,
                                                size_t max_merged) {
  jetstream_store::options o;
  // Unique per call: several runs of one process (--quick) reuse names.
  static std::atomic<int> opened{0};
  o.ns = "bench-" + std::to_string(::getpid()) + "-" + name + "-"
         + std::to_string(++opened);
  o.max_merged_events = max_merged;
  auto s = jetstream_store::open(nats(), o);
  if (!s)
    throw std::runtime_error(describe(s.error()));
  return std::shared_ptr<jetstream_store>{std::move(*s)};
}

std::shared_ptr<event_store_with_snapshots>
make_store(const std::string& kind, const temp_folder& tmp,
           const std::string& name, bool full_sync) {
  if (kind == "jetstream")
    return make_jetstream(name);
  if (kind == "memory")
    return std::make_shared<memory_store>();
  if (kind == "sqlite") {
    sqlite_store::options o;
    o.path = (tmp.path / (name + ".db")).string();
    o.full_sync = full_sync;
    auto s = sqlite_store::open(o);
    if (!s)
      throw std::runtime_error(describe(s.error()));
    return std::shared_ptr<event_store_with_snapshots>{std::move(*s)};
  }
  throw std::runtime_error("unknown store: " + kind
                           + " (memory, sqlite or jetstream)");
}

double percentile(std::vector<double> xs, double q) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  auto i = static_cast<size_t>(q * static_cast<double>(xs.size() - 1));
  return xs[i];
}

event bench_event(const std::string& id, int64_t v) {
  return make_event("added", id, v,
                    boost::json::object{{"n", v % 10},
                                        {"note", "benchmark payload"}});
}

void ask_info_all(
  caf::scoped_actor& self, const std::vector<caf::actor>& hs,
  caf::timespan per_answer,
  const std::function<void(const std::vector<int64_t>&)>& on_answer) {
  for (auto& h : hs)
    self->send(h, info_atom::value);
  for (size_t i = 0; i < hs.size(); ++i)
    self->receive(
      [&](const std::vector<int64_t>& x) {
        on_answer(x);
      },
      [](caf::error& err) {
        throw std::runtime_error("an actor failed: " + caf::to_string(err));
      },
      caf::after(per_answer) >>
        [&] {
          throw std::runtime_error(
            "an actor did not answer within "
            + std::to_string(
              std::chrono::duration_cast<std::chrono::seconds>(per_answer)
                .count())
            + " s");
        });
}

/// Spawns `n` counter actors and waits until each recovered.
std::vector<caf::actor> spawn_counters(caf::actor_system& sys,
                                       caf::scoped_actor& self,
                                       const store_context& ctx, int64_t n,
                                       const persistence_options& opts) {
  std::vector<caf::actor> hs;
  for (int64_t i = 0; i < n; ++i)
    hs.push_back(
      sys.spawn<counter_actor>("actor-" + std::to_string(i), ctx, opts));
  // Waits for recovery.
  ask_info_all(self, hs, opts.recovery_timeout + std::chrono::minutes{1},
               [](const std::vector<int64_t>&) {});
  return hs;
}

/// Every actor gets its commands at once; they persist one by one. The
/// commands are anonymous, so their replies are dropped instead of piling up
/// in the driver's mailbox (a final `info` request per actor, queued behind
/// them, tells when all are stored).
void send_adds(caf::scoped_actor&, const std::vector<caf::actor>& hs,
               int64_t per_actor) {
  for (int64_t i = 0; i < per_actor; ++i)
    for (auto& h : hs)
      caf::anon_send(h, add_atom::value, int64_t{1});
}

/// One persist run: `actors` actors, `per_actor` commands each, sent at
/// once; returns events/s and the metrics.
std::pair<double, runtime_metrics::values>
persist_once(caf::actor_system& sys, const std::string& kind,
             const temp_folder& tmp, const std::string& name, int64_t actors,
             int64_t per_actor, int64_t snapshot_every, bool full_sync,
             persist_mode mode, sqlite_store::statistics* stats) {
  auto store = make_store(kind, tmp, name, full_sync);
  auto ctx = store_context::make(sys, store, store_io::options{});
  persistence_options opts;
  opts.mode = mode;
  if (snapshot_every > 0)
    opts.snapshots.every_events(snapshot_every);
  caf::scoped_actor self{sys};
  auto hs = spawn_counters(sys, self, ctx, actors, opts);
  auto t0 = clock_type::now();
  send_adds(self, hs, per_actor);
  int64_t failures = 0;
  ask_info_all(self, hs, opts.persist_timeout + std::chrono::minutes{1},
               [&](const std::vector<int64_t>& x) {
                 failures += x[0] != per_actor;
               });
  auto secs = ms_since(t0) / 1000;
  auto m = ctx.metrics->read();
  if (stats && kind == "sqlite")
    *stats = static_cast<sqlite_store&>(*store).stats();
  for (auto& h : hs)
    self->send_exit(h, caf::exit_reason::user_shutdown);
  self->wait_for(hs);
  if (failures > 0)
    throw std::runtime_error("persist failed");
  return {static_cast<double>(actors * per_actor) / secs, m};
}

} // namespace aether::bench
