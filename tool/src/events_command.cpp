#include "aether/core/error.hpp"
#include "aether/persistence/json_codec.hpp"
#include "aether/persistence/validation.hpp"
#include "aether/tool/commands.hpp"
#include "aether/tool/store_walk.hpp"
#include "aether/tool/table.hpp"

#include <boost/json/serialize.hpp>

namespace aether::tool {

int show_events(event_store& store, const std::string& actor, int64_t from,
                int64_t to, const command_io& io) {
  if (auto err = validate_actor_id(actor))
    return fail(io, describe(err), exit_usage);
  if (from < 1 || to < from)
    return fail(io,
                "--from must be at least 1 and --to at least --from (got "
                  + std::to_string(from) + ".." + std::to_string(to) + ")",
                exit_usage);
  table t{{"VERSION", "TYPE", "TIME", "ID", "COMMAND", "DATA"}};
  size_t shown = 0;
  size_t bad = 0;
  auto err = walk_events(
    store, actor, from, to, 1000,
    [&](const std::vector<event>& page) {
      for (auto& ev : page) {
        ++shown;
        if (io.json) {
          io.out << json_codec::encode(ev) << '\n';
          continue;
        }
        t.add({std::to_string(ev.version), ev.type, format_rfc3339(ev.time),
               ev.id, ev.command_id, boost::json::serialize(ev.data)});
      }
      return true;
    },
    [&](const replay_error& e) {
      ++bad;
      io.err << "aether: record at position " << e.position
             << " does not decode: " << e.reason << '\n';
    });
  if (err)
    return fail(io,
                "cannot read the events of \"" + actor + "\": " + describe(err),
                exit_store);
  if (!io.json) {
    t.print(io.out);
    io.out << shown << (shown == 1 ? " event" : " events");
    if (bad > 0)
      io.out << ", " << bad << " undecodable (run aether verify)";
    io.out << '\n';
  }
  return bad > 0 ? exit_problem : exit_ok;
}

} // namespace aether::tool
