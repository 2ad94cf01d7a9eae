#include "aether/core/error.hpp"
#include "aether/tool/commands.hpp"
#include "aether/tool/table.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace aether::tool {

int list_actors(event_store& store, const command_io& io) {
  auto ids = store.actor_ids();
  if (!ids)
    return fail(io, "cannot list actors: " + describe(ids.error()), exit_store);
  table t{{"ACTOR", "LATEST VERSION"}};
  for (auto& id : *ids) {
    auto latest = store.get_latest_version(id);
    if (!latest)
      return fail(io,
                  "cannot read the latest version of \"" + id
                    + "\": " + describe(latest.error()),
                  exit_store);
    if (io.json)
      io.out << boost::json::serialize(
        boost::json::object{{"actorId", id}, {"latestVersion", *latest}})
             << '\n';
    else
      t.add({id, std::to_string(*latest)});
  }
  if (!io.json) {
    t.print(io.out);
    io.out << ids->size() << (ids->size() == 1 ? " actor\n" : " actors\n");
  }
  return exit_ok;
}

} // namespace aether::tool
