#include "aether/core/error.hpp"
#include "aether/persistence/json_codec.hpp"
#include "aether/persistence/validation.hpp"
#include "aether/tool/commands.hpp"
#include "aether/tool/export_format.hpp"

#include <map>
#include <vector>

namespace aether::tool {

namespace {

// What the file holds of one actor.
struct actor_plan {
  /// The version of its last event so far.
  int64_t last = 0;
};

// Reads `file` line by line; `f(line_no, record)` returns an error to stop.
caf::error each_record(
  std::istream& file,
  const std::function<caf::error(size_t, export_format::record&)>& f) {
  std::string text;
  size_t line_no = 0;
  bool header = false;
  while (std::getline(file, text)) {
    ++line_no;
    if (text.empty())
      continue;
    auto rec = export_format::decode(text);
    if (!rec)
      return make_persistence_error(persistence_error::invalid_argument,
                                    "line " + std::to_string(line_no) + ": "
                                      + describe(rec.error()));
    auto is_header = std::holds_alternative<export_format::header_record>(*rec);
    if (!header && !is_header)
      return make_persistence_error(
        persistence_error::invalid_argument,
        "line " + std::to_string(line_no)
          + ": the file must start with the header {\"aetherExport\":1} (is "
            "it an aether export?)");
    if (header && is_header)
      return make_persistence_error(persistence_error::invalid_argument,
                                    "line " + std::to_string(line_no)
                                      + ": a second header");
    header = true;
    if (auto err = f(line_no, *rec))
      return err;
  }
  if (!header)
    return make_persistence_error(persistence_error::invalid_argument,
                                  "the file is empty (no export header)");
  return caf::none;
}

caf::error at_line(size_t line_no, const std::string& what) {
  return make_persistence_error(persistence_error::invalid_argument,
                                "line " + std::to_string(line_no) + ": "
                                  + what);
}

// Pass 1: every line decodes and follows the rules; nothing is written.
caf::expected<std::map<std::string, actor_plan>> plan(std::istream& file,
                                                      size_t& lines) {
  std::map<std::string, actor_plan> actors;
  auto err = each_record(
    file, [&](size_t line_no, export_format::record& rec) -> caf::error {
      lines = line_no;
      if (auto* ev = std::get_if<event>(&rec)) {
        if (auto bad = validate_event(*ev))
          return at_line(line_no, "event: " + describe(bad));
        auto& a = actors[ev->actor_id];
        if (ev->version != a.last + 1)
          return at_line(line_no,
                         "event of \"" + ev->actor_id + "\" has version "
                           + std::to_string(ev->version) + ", expected "
                           + std::to_string(a.last + 1)
                           + (a.last == 0
                                ? " (a history starts at version 1: an actor "
                                  "whose first events were deleted cannot be "
                                  "imported)"
                                : " (each actor's events in version order)"));
        a.last = ev->version;
      } else if (auto* s = std::get_if<actor_snapshot>(&rec)) {
        if (auto bad = validate_snapshot(*s))
          return at_line(line_no, "snapshot: " + describe(bad));
        auto& a = actors[s->actor_id];
        if (s->version > a.last)
          return at_line(line_no,
                         "snapshot of \"" + s->actor_id + "\" at version "
                           + std::to_string(s->version)
                           + " comes before the actor's event of that "
                             "version (snapshots follow their events)");
      }
      return caf::none;
    });
  if (err)
    return err;
  return actors;
}

} // namespace

int import_store(event_store_with_snapshots& store, std::istream& file,
                 const std::string& name, const command_io& io) {
  size_t lines = 0;
  auto actors = plan(file, lines);
  if (!actors)
    return fail(io,
                name + ": " + describe(actors.error()) + "; nothing imported",
                exit_problem);
  // Never overwrite: every actor of the file must be new to the store.
  std::vector<std::string> present;
  for (auto& [id, a] : *actors) {
    auto latest = store.get_latest_version(id);
    if (!latest)
      return fail(io, "cannot read \"" + id + "\": " + describe(latest.error()),
                  exit_store);
    auto snapshot = store.get_latest_snapshot(id);
    if (!snapshot && !get_corrupt_snapshot_version(snapshot.error()))
      return fail(io,
                  "cannot read the snapshots of \"" + id
                    + "\": " + describe(snapshot.error()),
                  exit_store);
    if (*latest > 0 || !snapshot || *snapshot)
      present.push_back(
        id
        + (*latest > 0 ? " (latest version " + std::to_string(*latest) + ")"
                       : " (snapshots)"));
  }
  if (!present.empty()) {
    std::string list;
    for (size_t i = 0; i < present.size() && i < 10; ++i)
      list += (i > 0 ? ", " : "") + present[i];
    if (present.size() > 10)
      list += " and " + std::to_string(present.size() - 10) + " more";
    return fail(
      io,
      "the store already has history of " + std::to_string(present.size())
        + (present.size() == 1 ? " actor" : " actors") + " of " + name + ": "
        + list + "; import never overwrites history; nothing imported",
      exit_problem);
  }
  // Pass 2: write, each actor's events in batches (the store checks that
  // each batch follows the actor's latest version: a writer that appeared
  // meanwhile makes the import stop with version_conflict).
  file.clear();
  file.seekg(0);
  if (!file)
    return fail(io,
                name
                  + ": cannot read it a second time (a pipe?); save the "
                    "export to a file first; nothing imported",
                exit_usage);
  uint64_t events = 0;
  uint64_t snapshots = 0;
  // Batches stay well below a NATS message's limit (1 MiB by default):
  // JetStream stores a batch as one message.
  constexpr size_t max_batch_events = 1000;
  constexpr size_t max_batch_bytes = 256 * 1024;
  std::vector<event> batch;
  size_t batch_bytes = 0;
  auto flush = [&]() -> caf::error {
    if (batch.empty())
      return caf::none;
    auto n = batch.size();
    auto actor = batch.front().actor_id;
    auto first = batch.front().version;
    auto done = store.save_events(std::move(batch));
    batch.clear();
    batch_bytes = 0;
    if (!done)
      return make_persistence_error(
        persistence_error::store_failure,
        "cannot append the events " + std::to_string(first) + ".."
          + std::to_string(first + static_cast<int64_t>(n) - 1) + " of \""
          + actor + "\": " + describe(done.error()));
    events += n;
    return caf::none;
  };
  progress bar{io.err, "import", lines, progress::enabled(io.progress)};
  auto err
    = each_record(file, [&](size_t, export_format::record& rec) -> caf::error {
        bar.advance(1);
        if (auto* ev = std::get_if<event>(&rec)) {
          auto bytes = json_codec::encode(*ev).size();
          if (!batch.empty()
              && (batch.front().actor_id != ev->actor_id
                  || batch.size() >= max_batch_events
                  || batch_bytes + bytes > max_batch_bytes))
            if (auto e = flush())
              return e;
          batch_bytes += bytes;
          batch.push_back(std::move(*ev));
          return caf::none;
        }
        if (auto* s = std::get_if<actor_snapshot>(&rec)) {
          if (auto e = flush())
            return e;
          auto v = s->version;
          auto actor = s->actor_id;
          // The source store's position means nothing in this one.
          s->store_position = 0;
          if (auto e = store.save_snapshot(std::move(*s)))
            return make_persistence_error(persistence_error::store_failure,
                                          "cannot save the snapshot "
                                            + std::to_string(v) + " of \""
                                            + actor + "\": " + describe(e));
          ++snapshots;
        }
        return caf::none;
      });
  if (!err)
    err = flush();
  bar.finish();
  if (err)
    return fail(io,
                describe(err) + "; the import stopped after "
                  + std::to_string(events) + " events and "
                  + std::to_string(snapshots)
                  + " snapshots; what was written before it stays",
                exit_store);
  io.err << "imported " << actors->size() << " actors, " << events
         << " events, " << snapshots << " snapshots\n";
  return exit_ok;
}

} // namespace aether::tool
