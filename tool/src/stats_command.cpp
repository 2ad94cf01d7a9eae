#include "aether/core/error.hpp"
#include "aether/tool/commands.hpp"
#include "aether/tool/store_walk.hpp"
#include "aether/tool/table.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace aether::tool {

int show_stats(opened_store& opened, const command_io& io) {
  auto& store = opened.store();
  uint64_t actors = 0;
  uint64_t events = 0;
  uint64_t snapshots = 0;
  uint64_t undecodable = 0;
  int64_t highest = 0;
  std::string longest;
  auto rc = for_each_actor(store, io, "stats", [&](const std::string& id) {
    ++actors;
    auto latest = store.get_latest_version(id);
    if (!latest)
      return latest.error();
    if (*latest > highest) {
      highest = *latest;
      longest = id;
    }
    auto err = walk_events(
      store, id, 1, std::numeric_limits<int64_t>::max(), 1000,
      [&](const std::vector<event>& page) {
        events += page.size();
        return true;
      },
      [&](const replay_error&) {
        ++undecodable;
      });
    if (err)
      return err;
    auto listing = list_snapshots(store, id);
    if (!listing)
      return listing.error();
    snapshots += listing->good.size();
    undecodable += listing->bad.size();
    return caf::error{};
  });
  if (rc != exit_ok)
    return rc;
  auto storage = opened.storage_facts();
  std::vector<std::pair<std::string, std::string>> facts{
    {"store", opened.shown()},
    {"actors", std::to_string(actors)},
    {"events", std::to_string(events)},
    {"snapshots", std::to_string(snapshots)},
    {"undecodable records", std::to_string(undecodable)},
    {"highest version", std::to_string(highest)},
    {"actor with the highest version", longest},
  };
  facts.insert(facts.end(), storage.begin(), storage.end());
  if (io.json) {
    boost::json::object o;
    o["store"] = opened.shown();
    o["actors"] = actors;
    o["events"] = events;
    o["snapshots"] = snapshots;
    o["undecodableRecords"] = undecodable;
    o["highestVersion"] = highest;
    o["highestVersionActor"] = longest;
    boost::json::object json_storage;
    for (auto& f : storage)
      json_storage[f.first] = f.second;
    o["storage"] = std::move(json_storage);
    io.out << boost::json::serialize(o) << '\n';
    return exit_ok;
  }
  table t{{"WHAT", "VALUE"}, 200};
  for (auto& f : facts)
    t.add({f.first, f.second});
  t.print(io.out);
  return exit_ok;
}

} // namespace aether::tool
