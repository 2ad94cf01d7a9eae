#pragma once

#include "aether/persistence/snapshot_store.hpp"
#include "aether/tool/opened_store.hpp"
#include "aether/tool/progress.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <istream>
#include <limits>
#include <memory>
#include <ostream>
#include <string>

namespace aether {
class nats_connection;
} // namespace aether

namespace aether::tool {

/// The `aether` command's exit codes.
enum exit_code : int {
  /// Done.
  exit_ok = 0,
  /// Done, and it found a problem (`verify`), or refused to write
  /// (`import`: history present, a bad line).
  exit_problem = 1,
  /// Bad usage: an unknown option, a bad URL or pattern.
  exit_usage = 2,
  /// The store could not be opened or read (missing file or stream,
  /// unreachable server, refused credential).
  exit_store = 3,
};

/// Where a command writes: results to `out`, errors and progress bars to
/// `err`; `json` selects JSON lines instead of tables.
struct command_io {
  std::ostream& out;
  std::ostream& err;
  bool json = false;
  progress_mode progress = progress_mode::automatic;
};

/// Prints `aether: <what>` on `io.err` and returns `code`.
int fail(const command_io& io, const std::string& what, int code);

/// Lists every actor of `store` and calls `f` with each, drawing a progress
/// bar labelled `label`; stops at the first error `f` returns. Returns
/// `exit_ok`, or `exit_store` after printing what could not be read.
int for_each_actor(event_store& store, const command_io& io,
                   const std::string& label,
                   const std::function<caf::error(const std::string&)>& f);

/// `aether actors`: every actor with its latest version.
int list_actors(event_store& store, const command_io& io);

/// `aether events ACTOR [--from V] [--to V]`.
int show_events(event_store& store, const std::string& actor, int64_t from,
                int64_t to, const command_io& io);

/// `aether snapshots ACTOR`: every snapshot of the actor, oldest first.
int show_snapshots(snapshot_store& store, const std::string& actor,
                   const command_io& io);

/// `aether verify`: every record decodes, versions are contiguous and end at
/// the latest version, a history whose first events were deleted starts at
/// a snapshot, snapshots decode and are not ahead of the history. Lists
/// each problem with its actor and position; `exit_problem` if any.
int verify_store(event_store_with_snapshots& store, const command_io& io);

/// `aether export`: writes the store to `file` in `export_format`.
int export_store(event_store_with_snapshots& store, std::ostream& file,
                 const command_io& io);

/// `aether import FILE`: reads `file` (named `name` in messages) twice:
/// first it checks every line and that none of its actors has history in
/// `store`, writing nothing if anything is wrong; then it appends each
/// actor's events (ids, times and versions kept) and saves its snapshots.
int import_store(event_store_with_snapshots& store, std::istream& file,
                 const std::string& name, const command_io& io);

/// `aether stats`: actors, events, snapshots and the storage's own facts.
int show_stats(opened_store& opened, const command_io& io);

/// `aether tail PATTERN`: events as the NATS bridge broadcasts them, live.
struct tail_options {
  /// Namespace pattern (`*` one token, `>` the rest).
  std::string pattern;
  std::string subject_prefix = "aether.events";
  /// Stop after this many events (0: never).
  uint64_t count = 0;
  /// Stop after this long (0: never).
  std::chrono::milliseconds duration{0};
  /// Fail (`exit_store`) once the connection has been down this long.
  std::chrono::milliseconds lost_after{5000};
};
int tail_events(std::shared_ptr<nats_connection> conn, const tail_options& opts,
                const command_io& io);

} // namespace aether::tool
