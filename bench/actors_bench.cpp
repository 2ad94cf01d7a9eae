// aether-bench actors: idle recovered actors, memory and spawn rate.
#include "aether/core/error.hpp"
#include "bench_state.hpp"
#include "dormant_bench.hpp"
#include "harness.hpp"

#include <cstdio>
#include <filesystem>
#include <memory>

namespace aether::bench {

namespace {

// -- actors: memory per idle recovered actor, spawn + recovery rate ---------

struct actors_options {
  std::string store = "memory";
  std::string sync = "full";
  int64_t actors = 100000;
  int64_t events_per_actor = 10;
  // Measures the plain CAF actors only (the child process of a run).
  bool plain_only = false;
};

/// The limit: `n` plain CAF actors with a trivial behavior, spawned and
/// asked once, as the persistent ones are.
boost::json::object plain_actors(caf::actor_system& sys, int64_t n) {
  caf::scoped_actor self{sys};
  auto rss0 = resident_bytes();
  auto heap0 = static_cast<double>(heap_bytes_in_use());
  auto t0 = clock_type::now();
  std::vector<caf::actor> plain;
  plain.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    plain.push_back(sys.spawn([](caf::event_based_actor*) -> caf::behavior {
      return {[](info_atom) {
        return std::vector<int64_t>{};
      }};
    }));
  ask_info_all(self, plain, std::chrono::minutes{5},
               [](const std::vector<int64_t>&) {});
  auto secs = ms_since(t0) / 1000;
  auto rss = static_cast<double>(resident_bytes() - rss0);
  auto heap = static_cast<double>(heap_bytes_in_use()) - heap0;
  for (auto& h : plain)
    self->send_exit(h, caf::exit_reason::user_shutdown);
  self->wait_for(plain);
  auto count = static_cast<double>(n);
  return {{"raw_spawn_per_s", count / secs},
          {"raw_rss_bytes_per_actor", rss / count},
          {"raw_heap_bytes_per_actor", heap / count}};
}

/// Runs `plain_actors` in a fresh process of this binary: measured in this
/// one, the plain actors would fill the free memory the persistent actors'
/// recoveries left resident, and look smaller than they are.
boost::json::object plain_actors_in_child(int64_t n) {
  // (In the shell popen runs, /proc/self/exe would be the shell.)
  auto self_path = std::filesystem::read_symlink("/proc/self/exe").string();
  auto cmd = "'" + self_path + "' actors --plain-only --actors "
             + std::to_string(n);
  std::unique_ptr<FILE, int (*)(FILE*)> pipe{popen(cmd.c_str(), "r"), pclose};
  if (!pipe)
    throw std::runtime_error("actors: cannot run " + cmd);
  std::string out;
  char buf[4096];
  while (auto got = fread(buf, 1, sizeof(buf), pipe.get()))
    out.append(buf, got);
  if (pclose(pipe.release()) != 0)
    throw std::runtime_error("actors: " + cmd + " failed");
  // Its result is its last line (one JSON object).
  while (!out.empty() && out.back() == '\n')
    out.pop_back();
  auto line = out.substr(out.find_last_of('\n') + 1);
  boost::system::error_code ec;
  auto v = boost::json::parse(line, ec);
  if (ec || !v.is_object())
    throw std::runtime_error("actors: " + cmd + " printed no result: " + line);
  return v.as_object();
}

int run_actors(caf::actor_system& sys, const actors_options& a) {
  auto n = std::max<int64_t>(a.actors, 1);
  if (a.plain_only) {
    emit(plain_actors(sys, n));
    return 0;
  }
  auto kind = a.store;
  auto history = std::max<int64_t>(a.events_per_actor, 0);
  temp_folder tmp;
  auto store = make_store(kind, tmp, "actors", false);
  for (int64_t i = 0; i < n; ++i) {
    std::vector<event> batch;
    for (int64_t v = 1; v <= history; ++v)
      batch.push_back(bench_event("actor-" + std::to_string(i), v));
    if (!batch.empty())
      if (auto res = store->save_events(std::move(batch)); !res)
        throw std::runtime_error(describe(res.error()));
  }
  auto ctx = store_context::make(sys, store, store_io::options{});
  caf::scoped_actor self{sys};
  // Persistent actors: spawn, recover, then idle.
  auto rss0 = resident_bytes();
  auto heap0 = static_cast<double>(heap_bytes_in_use());
  auto t0 = clock_type::now();
  std::vector<caf::actor> hs;
  hs.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    hs.push_back(sys.spawn<counter_actor>("actor-" + std::to_string(i), ctx,
                                          persistence_options{}));
  ask_info_all(self, hs, std::chrono::minutes{5},
               [](const std::vector<int64_t>&) {});
  auto secs = ms_since(t0) / 1000;
  auto grown = resident_bytes() - rss0;
  auto heap_grown = static_cast<double>(heap_bytes_in_use()) - heap0;
  auto m = ctx.metrics->read();
  for (auto& h : hs)
    self->send_exit(h, caf::exit_reason::user_shutdown);
  self->wait_for(hs);
  auto plain = plain_actors_in_child(n);
  auto count = static_cast<double>(n);
  boost::json::object o{
    {"scenario", "actors"},
    {"store", kind},
    {"actors", n},
    {"events_per_actor", history},
    {"spawn_recover_per_s", count / secs},
    {"rss_bytes_per_actor", static_cast<double>(grown) / count},
    // The heap the actors hold, without the free memory the allocator
    // kept from the run's transient messages (part of the resident growth).
    {"heap_bytes_per_actor", heap_grown / count},
    {"recoveries", m.recoveries},
    // Plain CAF actors, measured in a fresh process (plain_actors_in_child).
    {"raw_process", "child"},
  };
  for (auto& kv : plain)
    o[kv.key()] = kv.value();
  o["ratio_to_raw"] = (count / secs) / plain.at("raw_spawn_per_s").as_double();
  emit(o);
  return m.recoveries == static_cast<uint64_t>(n) ? 0 : 1;
}

} // namespace

void add_actors(CLI::App& app, runner& chosen) {
  auto o = std::make_shared<actors_options>();
  auto* sub = add_scenario(app, chosen, "actors",
                           "memory per idle recovered actor against a plain "
                           "CAF actor, and the spawn + recovery rate",
                           o, run_actors);
  add_store_options(*sub, o->store, o->sync);
  add_number(*sub, "--actors", o->actors, "actors");
  add_number(*sub, "--events-per-actor", o->events_per_actor,
             "events each actor recovers", CLI::NonNegativeNumber);
  sub->add_flag("--plain-only", o->plain_only,
                "only the limit: plain CAF actors (a run measures them in a "
                "child process with this flag)");
  // --dormant: the registry scenario (dormant_bench.cpp).
  auto d = std::make_shared<dormant_options>();
  auto dormant = std::make_shared<bool>(false);
  sub->add_flag("--dormant", *dormant,
                "dormant actors on SQLite touched through a registry under "
                "--limit active (uses --actors, --events-per-actor, --sync)");
  add_number(*sub, "--limit", d->limit, "active actors at most (--dormant)");
  add_number(*sub, "--window", d->window,
             "commands in flight at once (--dormant)");
  add_number(*sub, "--sample", d->sample,
             "actors activated from a snapshot one at a time (--dormant)");
  sub->callback([o, d, dormant, &chosen] {
    chosen = [o, d, dormant](caf::actor_system& sys) {
      if (!*dormant)
        return run_actors(sys, *o);
      d->actors = o->actors;
      d->events_per_actor = std::max<int64_t>(o->events_per_actor, 1);
      d->sync = o->sync;
      return run_dormant(sys, *d);
    };
  });
}

} // namespace aether::bench
