#pragma once

// The shared harness of aether-bench: options (CLI11), timing, stores, the
// counter actors the scenarios drive, and one JSON object per line on
// stdout. Each scenario lives in a file of its own and adds its subcommand
// with `add_<scenario>`.

#include "aether/jetstream/jetstream_store.hpp"
#include "aether/persistence/forwarding_store.hpp"
#include "aether/persistence/memory_store.hpp"
#include "aether/runtime/persistence_options.hpp"
#include "aether/runtime/runtime_metrics.hpp"
#include "aether/runtime/store_context.hpp"
#include "aether/sqlite/sqlite_store.hpp"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <caf/all.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace aether::bench {

using clock_type = std::chrono::steady_clock;

/// What the parsed subcommand runs.
using runner = std::function<int(caf::actor_system&)>;

/// Each scenario's subcommand (one file each); the parsed one sets `chosen`.
void add_recovery(CLI::App& app, runner& chosen);
void add_mass_recovery(CLI::App& app, runner& chosen);
void add_persist(CLI::App& app, runner& chosen);
void add_snapshot_overhead(CLI::App& app, runner& chosen);
void add_actors(CLI::App& app, runner& chosen);
void add_broadcast(CLI::App& app, runner& chosen);
void add_cluster(CLI::App& app, runner& chosen);
void add_projection(CLI::App& app, runner& chosen);
void add_sqlite_layout(CLI::App& app, runner& chosen);

/// Adds subcommand `name`; when it is the one parsed, `chosen` becomes
/// `run(sys, *o)`. Returns it for its options.
template <class Options, class Run>
CLI::App* add_scenario(CLI::App& app, runner& chosen, const std::string& name,
                       const std::string& about, std::shared_ptr<Options> o,
                       Run run) {
  auto* sub = app.add_subcommand(name, about);
  sub->callback([o, run, &chosen] {
    chosen = [o, run](caf::actor_system& sys) {
      return run(sys, *o);
    };
  });
  return sub;
}

/// Adds the numeric option `flag` bound to `x`, checked, with its default
/// shown in --help.
template <class T>
void add_number(CLI::App& sub, const std::string& flag, T& x,
                const std::string& about,
                const CLI::Validator& check = CLI::PositiveNumber) {
  sub.add_option(flag, x, about)->check(check)->capture_default_str();
}

/// Adds `--store` (memory, sqlite or jetstream) and, for SQLite, `--sync`
/// (full or normal) to a subcommand.
void add_store_options(CLI::App& sub, std::string& store, std::string& sync);

/// Prints one result line.
void emit(const boost::json::object& o);

double ms_since(clock_type::time_point t0);

/// The process's resident set size in bytes.
size_t resident_bytes();
/// Bytes the program has allocated and not freed, over all of malloc's
/// arenas (`malloc_info`): unlike the resident size it does not count freed
/// memory that malloc keeps, nor miss memory reused.
size_t heap_bytes_in_use();
double median(std::vector<double> xs);
double spread(const std::vector<double>& xs);
/// The value at quantile `q` (0 to 1) of `xs`; 0 for none.
double percentile(std::vector<double> xs, double q);

/// A temporary folder for SQLite files, removed at exit.
struct temp_folder {
  std::filesystem::path path;
  temp_folder();
  ~temp_folder();
};

/// The NATS server of JetStream runs: `--nats-url`, or one of its own
/// started at first use.
extern std::string nats_url;
std::shared_ptr<nats_connection> nats();

std::shared_ptr<jetstream_store> make_jetstream(const std::string& name,
                                                size_t max_merged = 1000);

std::shared_ptr<event_store_with_snapshots>
make_store(const std::string& kind, const temp_folder& tmp,
           const std::string& name, bool full_sync);

/// The event every scenario stores (about 150 bytes of JSON).
event bench_event(const std::string& id, int64_t v);

/// A view of a store without snapshots (to time full replays).
class without_snapshots : public forwarding_store {
public:
  using forwarding_store::forwarding_store;
  caf::error save_snapshot(actor_snapshot) override {
    return caf::none; // dropped: this view never has snapshots
  }
  caf::expected<std::optional<actor_snapshot>>
  get_latest_snapshot(const std::string&, snapshot_criteria) override {
    return std::optional<actor_snapshot>{};
  }
};

/// Sends `info` to every actor at once and hands each answer to `on_answer`
/// as it comes (in any order): one round trip for all of them, not one per
/// actor. Throws when an actor answers with an error, or when no answer
/// comes within `per_answer` (an actor that failed does not answer a plain
/// send).
void ask_info_all(
  caf::scoped_actor& self, const std::vector<caf::actor>& hs,
  caf::timespan per_answer,
  const std::function<void(const std::vector<int64_t>&)>& on_answer);

/// Spawns `n` counter actors and waits until each recovered.
std::vector<caf::actor> spawn_counters(caf::actor_system& sys,
                                       caf::scoped_actor& self,
                                       const store_context& ctx, int64_t n,
                                       const persistence_options& opts);

/// Every actor gets `per_actor` anonymous add commands at once.
void send_adds(caf::scoped_actor&, const std::vector<caf::actor>& hs,
               int64_t per_actor);

/// One persist run: `actors` actors, `per_actor` commands each, sent at
/// once; returns events/s and the metrics.
std::pair<double, runtime_metrics::values>
persist_once(caf::actor_system& sys, const std::string& kind,
             const temp_folder& tmp, const std::string& name, int64_t actors,
             int64_t per_actor, int64_t snapshot_every, bool full_sync,
             persist_mode mode = persist_mode::sequential,
             sqlite_store::statistics* stats = nullptr);

} // namespace aether::bench
