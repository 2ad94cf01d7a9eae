#include "aether/core/error.hpp"
#include "aether/tool/commands.hpp"
#include "aether/tool/export_format.hpp"
#include "aether/tool/store_walk.hpp"

namespace aether::tool {

int export_store(event_store_with_snapshots& store, std::ostream& file,
                 const command_io& io) {
  uint64_t actors = 0;
  uint64_t events = 0;
  uint64_t snapshots = 0;
  uint64_t skipped = 0;
  file << export_format::header() << '\n';
  auto rc = for_each_actor(store, io, "export", [&](const std::string& id) {
    ++actors;
    auto err = walk_events(
      store, id, 1, std::numeric_limits<int64_t>::max(), 1000,
      [&](const std::vector<event>& page) {
        for (auto& ev : page)
          file << export_format::line(ev) << '\n';
        events += page.size();
        return true;
      },
      [&](const replay_error& e) {
        ++skipped;
        io.err << "aether: " << id << ": record at position " << e.position
               << " does not decode and is not exported: " << e.reason << '\n';
      });
    if (err)
      return err;
    auto listing = list_snapshots(store, id);
    if (!listing)
      return listing.error();
    for (auto& s : listing->good)
      file << export_format::line(s) << '\n';
    snapshots += listing->good.size();
    for (auto& c : listing->bad) {
      ++skipped;
      io.err << "aether: " << id << ": snapshot " << c.version
             << " does not decode and is not exported: " << c.reason << '\n';
    }
    return caf::error{};
  });
  if (rc != exit_ok)
    return rc;
  file.flush();
  if (!file)
    return fail(io, "cannot write the export", exit_store);
  io.err << "exported " << actors << " actors, " << events << " events, "
         << snapshots << " snapshots\n";
  if (skipped > 0)
    return fail(io,
                std::to_string(skipped)
                  + " records do not decode and were left out (see above; "
                    "aether verify lists them)",
                exit_problem);
  return exit_ok;
}

} // namespace aether::tool
