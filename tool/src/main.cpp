// The `aether` command: looks into a store (SQLite or JetStream), follows
// a namespace live, verifies, exports and imports. See docs/cli.md.

#include "aether/core/error.hpp"
#include "aether/tool/commands.hpp"
#include "aether/tool/opened_store.hpp"
#include "aether/tool/store_url.hpp"

#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <limits>
#include <optional>

namespace {

using namespace aether::tool;

// Options every store command shares.
struct common {
  std::string url;
  store_options store;
  bool json = false;
  std::string progress = "auto";
  double timeout_s = 5;
};

void add_store_options(CLI::App& cmd, common& c) {
  cmd
    .add_option("--store,-s", c.url,
                "sqlite:///path/to/file.db or nats://host:4222 "
                "(or $AETHER_STORE)")
    ->envname("AETHER_STORE")
    ->required();
  cmd.add_option("--namespace,-n", c.store.ns, "JetStream: the namespace")
    ->capture_default_str();
  cmd.add_option("--stream", c.store.stream, "JetStream: the event stream")
    ->capture_default_str();
  cmd
    .add_option("--snapshot-stream", c.store.snapshot_stream,
                "JetStream: the snapshot stream")
    ->capture_default_str();
  cmd.add_option("--creds", c.store.credentials_file,
                 "NATS: a .creds file (JWT and NKey seed)");
  cmd.add_option("--token", c.store.token, "NATS: a token")
    ->envname("AETHER_NATS_TOKEN");
  cmd.add_flag("--tls", c.store.tls, "NATS: require TLS");
  cmd.add_option("--tls-ca", c.store.tls_ca,
                 "NATS: CA file to verify the "
                 "server with");
  cmd.add_option("--tls-cert", c.store.tls_cert, "NATS: client certificate");
  cmd.add_option("--tls-key", c.store.tls_key, "NATS: client key");
  cmd.add_option("--timeout", c.timeout_s, "seconds a store call may take")
    ->capture_default_str()
    ->check(CLI::Range(0.001, 86400.0));
  cmd.add_flag("--json", c.json, "JSON lines instead of tables");
  cmd
    .add_option("--progress", c.progress,
                "progress bars on standard error: auto (on a terminal), "
                "always, never")
    ->capture_default_str()
    ->check(CLI::IsMember({"auto", "always", "never"}));
}

command_io io_of(const common& c) {
  command_io io{std::cout, std::cerr};
  io.json = c.json;
  io.progress = c.progress == "always"  ? progress_mode::always
                : c.progress == "never" ? progress_mode::never
                                        : progress_mode::automatic;
  return io;
}

// Parses the URL (and the timeout); on failure prints why and sets `rc`.
std::optional<store_url> parse_url(common& c, int& rc) {
  c.store.timeout
    = std::chrono::milliseconds{static_cast<int64_t>(c.timeout_s * 1000)};
  auto url = parse_store_url(c.url);
  if (!url) {
    rc = fail(io_of(c), aether::describe(url.error()), exit_usage);
    return std::nullopt;
  }
  return std::move(*url);
}

// Parses the URL and opens the store; on failure prints why and sets `rc`.
std::optional<opened_store> open_store(common& c, opened_store::mode m,
                                       int& rc) {
  auto url = parse_url(c, rc);
  if (!url)
    return std::nullopt;
  auto st = opened_store::open(*url, c.store, m);
  if (!st) {
    rc = fail(io_of(c), url->shown + ": " + aether::describe(st.error()),
              exit_store);
    return std::nullopt;
  }
  return std::move(*st);
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"aether: look into, verify, export and import aether stores"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "aether 0.1.0");
  common c;
  int rc = exit_ok;
  // Makes `cmd` open the store (`m`) and run `f` on it.
  auto on_store = [&](CLI::App* cmd, opened_store::mode m,
                      std::function<int(opened_store&)> f) {
    add_store_options(*cmd, c);
    cmd->callback([&c, &rc, m, f] {
      if (auto st = open_store(c, m, rc))
        rc = f(*st);
    });
  };
  auto existing = opened_store::mode::existing;

  auto* actors = app.add_subcommand("actors",
                                    "every actor and its latest version");
  on_store(actors, existing, [&](opened_store& st) {
    return list_actors(st.store(), io_of(c));
  });

  std::string actor;
  int64_t from = 1;
  int64_t to = std::numeric_limits<int64_t>::max();
  auto* events = app.add_subcommand("events", "the events of one actor");
  events->add_option("actor", actor, "the actor id")->required();
  events->add_option("--from", from, "first version")->capture_default_str();
  events->add_option("--to", to, "last version");
  on_store(events, existing, [&](opened_store& st) {
    return show_events(st.store(), actor, from, to, io_of(c));
  });

  auto* snapshots = app.add_subcommand("snapshots",
                                       "the snapshots of one actor");
  snapshots->add_option("actor", actor, "the actor id")->required();
  on_store(snapshots, existing, [&](opened_store& st) {
    return show_snapshots(st.store(), actor, io_of(c));
  });

  auto* verify = app.add_subcommand(
    "verify", "check every record, version and snapshot (exit 1 on a "
              "problem)");
  on_store(verify, existing, [&](opened_store& st) {
    return verify_store(st.store(), io_of(c));
  });

  std::string file;
  auto* exp = app.add_subcommand("export", "write the store as JSON lines");
  exp->add_option("--output,-o", file,
                  "file to write (default: standard output)");
  on_store(exp, existing, [&](opened_store& st) {
    if (file.empty() || file == "-")
      return export_store(st.store(), std::cout, io_of(c));
    std::ofstream out{file, std::ios::binary | std::ios::trunc};
    if (!out)
      return fail(io_of(c), "cannot write \"" + file + "\"", exit_usage);
    return export_store(st.store(), out, io_of(c));
  });

  auto* imp = app.add_subcommand(
    "import", "append an export to a store (never overwrites history)");
  // The file must exist before the store is opened (and maybe created).
  imp->add_option("file", file, "the export (JSON lines)")
    ->required()
    ->check(CLI::ExistingFile);
  on_store(imp, opened_store::mode::create, [&](opened_store& st) {
    std::ifstream in{file, std::ios::binary};
    if (!in)
      return fail(io_of(c), "cannot read \"" + file + "\"", exit_usage);
    return import_store(st.store(), in, file, io_of(c));
  });

  auto* stats = app.add_subcommand("stats",
                                   "actors, events, snapshots and storage");
  on_store(stats, existing, [&](opened_store& st) {
    return show_stats(st, io_of(c));
  });

  tail_options tail_opts;
  double tail_for = 0;
  auto* tail = app.add_subcommand(
    "tail", "follow the events the NATS bridge broadcasts, live");
  add_store_options(*tail, c);
  tail
    ->add_option("pattern", tail_opts.pattern,
                 "namespace pattern (* one token, > the rest)")
    ->required();
  tail
    ->add_option("--subject-prefix", tail_opts.subject_prefix,
                 "the bridge's subject prefix")
    ->capture_default_str();
  tail->add_option("--count", tail_opts.count, "stop after this many events");
  tail->add_option("--for", tail_for, "stop after this many seconds")
    ->check(CLI::Range(0.0, 31536000.0));
  tail->callback([&] {
    auto url = parse_url(c, rc);
    if (!url)
      return;
    auto conn = opened_store::connect(*url, c.store);
    if (!conn) {
      rc = fail(io_of(c), url->shown + ": " + aether::describe(conn.error()),
                url->kind == store_url::scheme::nats ? exit_store : exit_usage);
      return;
    }
    tail_opts.duration
      = std::chrono::milliseconds{static_cast<int64_t>(tail_for * 1000)};
    tail_opts.lost_after = c.store.timeout;
    rc = tail_events(*conn, tail_opts, io_of(c));
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    auto code = app.exit(e);
    return code == 0 ? exit_ok : exit_usage;
  } catch (const std::exception& e) {
    std::cerr << "aether: internal error: " << e.what() << '\n';
    return exit_store;
  }
  return rc;
}
