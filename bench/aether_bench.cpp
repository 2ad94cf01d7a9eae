// aether-bench: whole-system benchmarks. Every scenario prints one JSON
// object per line with its parameters, the figure, and the raw limit of the
// same store measured in the same run. One scenario per file
// (<scenario>_bench.cpp) on a shared harness (harness.hpp); options are
// parsed with CLI11 (`aether-bench <scenario> --help` lists them).
//
//   aether-bench --quick   (every scenario, small: a smoke run)
//   aether-bench recovery | mass-recovery | persist | snapshot-overhead
//                | actors | broadcast | cluster | projection
//                | sqlite-layout [options]
//
// JetStream runs, broadcast and cluster start a temporary nats-server of
// their own unless --nats-url URL is given.
#include "aether/runtime/config.hpp"
#include "harness.hpp"

#include <iostream>

using namespace aether::bench;

namespace {

/// The command line: every scenario's subcommand, --nats-url and --quick.
struct command_line {
  CLI::App app{"aether-bench: aether's whole-system benchmarks (JSON lines)"};
  runner chosen;
  bool quick = false;

  command_line() {
    app.fallthrough(); // --nats-url after the subcommand too
    app.add_option("--nats-url", nats_url,
                   "a running nats-server (default: start one)");
    app.add_flag("--quick", quick, "every scenario, small (a smoke run)");
    add_recovery(app, chosen);
    add_mass_recovery(app, chosen);
    add_persist(app, chosen);
    add_snapshot_overhead(app, chosen);
    add_actors(app, chosen);
    add_broadcast(app, chosen);
    add_cluster(app, chosen);
    add_projection(app, chosen);
    add_sqlite_layout(app, chosen);
    app.require_subcommand(0, 1);
  }
};

/// `--quick`: every scenario, small, in well under a minute (a smoke run;
/// the figures are not meaningful).
int run_quick(caf::actor_system& sys) {
  std::vector<std::string> runs{
    "recovery --store memory --events 2000 --snapshot-every 1000 --repeat 1",
    "recovery --store sqlite --events 2000 --snapshot-every 1000 --repeat 1",
    "recovery --store jetstream --events 2000 --snapshot-every 1000 "
    "--repeat 1",
    "persist --store memory --actors 10 --events 2000",
    "persist --store sqlite --actors 10 --events 500",
    "persist --store jetstream --actors 10 --events 1000",
    "persist --store sqlite --actors 1 --events 500 --mode pipelined",
    "persist --store jetstream --actors 1 --events 1000 --mode pipelined",
    "snapshot-overhead --store memory --actors 10 --events 2000 --repeat 1",
    "mass-recovery --store sqlite --actors 200 --events 100 "
    "--snapshot-every 30 --repeat 2",
    "actors --store memory --actors 2000",
    "actors --dormant --actors 2000 --limit 200 --sample 100",
    "broadcast --nodes 2 --events 2000",
    "cluster --requests 200 --shard-actors 50",
    "projection --store sqlite --events 2000 --rate 1000 --seconds 1",
    "sqlite-layout --actors 10 --rows 2000 --repeat 1",
  };
  int rc = 0;
  for (auto& run : runs) {
    command_line cl;
    cl.app.parse(run, false);
    if (auto r = cl.chosen(sys); r != 0)
      rc = r;
  }
  return rc;
}

} // namespace

int main(int argc, char** argv) {
  command_line cl;
  try {
    cl.app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cl.app.exit(e);
  }
  if (!cl.quick && !cl.chosen) {
    std::cerr << cl.app.help();
    return 2;
  }
  try {
    aether::config cfg;
    caf::actor_system sys{cfg};
    return cl.quick ? run_quick(sys) : cl.chosen(sys);
  } catch (const std::exception& e) {
    std::cerr << "aether-bench: " << e.what() << "\n";
    return 1;
  }
}
