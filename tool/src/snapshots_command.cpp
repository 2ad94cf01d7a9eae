#include "aether/core/error.hpp"
#include "aether/persistence/json_codec.hpp"
#include "aether/persistence/validation.hpp"
#include "aether/tool/commands.hpp"
#include "aether/tool/store_walk.hpp"
#include "aether/tool/table.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace aether::tool {

int show_snapshots(snapshot_store& store, const std::string& actor,
                   const command_io& io) {
  if (auto err = validate_actor_id(actor))
    return fail(io, describe(err), exit_usage);
  auto listing = list_snapshots(store, actor);
  if (!listing)
    return fail(io,
                "cannot read the snapshots of \"" + actor
                  + "\": " + describe(listing.error()),
                exit_store);
  if (io.json) {
    for (auto& s : listing->good)
      io.out << json_codec::encode(s) << '\n';
    for (auto& c : listing->bad)
      io.out << boost::json::serialize(boost::json::object{
        {"actorId", actor}, {"version", c.version}, {"error", c.reason}})
             << '\n';
  } else {
    table t{{"VERSION", "TIME", "STATE BYTES", "STATE"}};
    for (auto& s : listing->good) {
      auto state = boost::json::serialize(s.state);
      t.add({std::to_string(s.version), format_rfc3339(s.time),
             std::to_string(state.size()), state});
    }
    for (auto& c : listing->bad)
      t.add({std::to_string(c.version), "-", "-", "undecodable: " + c.reason});
    t.print(io.out);
    auto n = listing->good.size();
    io.out << n << (n == 1 ? " snapshot" : " snapshots");
    if (!listing->bad.empty())
      io.out << ", " << listing->bad.size() << " undecodable";
    io.out << '\n';
  }
  return listing->bad.empty() ? exit_ok : exit_problem;
}

} // namespace aether::tool
