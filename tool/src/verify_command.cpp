#include "aether/core/error.hpp"
#include "aether/tool/commands.hpp"
#include "aether/tool/store_walk.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace aether::tool {

namespace {

// One problem `verify` found.
struct problem {
  std::string actor;
  std::string kind;
  /// Where: a version, or a store position (JetStream: stream sequence).
  std::string where;
  std::string reason;
};

class verifier {
public:
  verifier(event_store_with_snapshots& store, const command_io& io)
    : store_(store), io_(io) {
    // nop
  }

  // Checks one actor; an error means the store could not be read.
  caf::error check(const std::string& actor) {
    ++actors_;
    auto latest = store_.get_latest_version(actor);
    if (!latest)
      return latest.error();
    int64_t first = 0;
    int64_t last = 0;
    auto err = walk_events(
      store_, actor, 1, std::numeric_limits<int64_t>::max(), 1000,
      [&](const std::vector<event>& page) {
        for (auto& ev : page) {
          ++events_;
          if (ev.actor_id != actor)
            report({actor, "wrong_actor",
                    "version " + std::to_string(ev.version),
                    "the record names actor \"" + ev.actor_id + "\""});
          if (first == 0)
            first = ev.version;
          else if (ev.version != last + 1)
            report({actor, "version_gap",
                    "version " + std::to_string(ev.version),
                    "follows version " + std::to_string(last) + ", expected "
                      + std::to_string(last + 1)});
          last = ev.version;
        }
        return true;
      },
      [&](const replay_error& e) {
        report({actor, "undecodable_event",
                "position " + std::to_string(e.position), e.reason});
      });
    if (err)
      return err;
    auto snapshots = list_snapshots(store_, actor);
    if (!snapshots)
      return snapshots.error();
    snapshots_ += snapshots->good.size();
    for (auto& bad : snapshots->bad)
      report({actor, "undecodable_snapshot",
              "version " + std::to_string(bad.version), bad.reason});
    int64_t newest_snapshot = 0;
    for (auto& s : snapshots->good) {
      if (s.version > *latest)
        report({actor, "snapshot_ahead", "version " + std::to_string(s.version),
                "the latest version is " + std::to_string(*latest)});
      newest_snapshot = std::max(newest_snapshot, s.version);
    }
    if (last < *latest && last != 0)
      report({actor, "events_missing", "version " + std::to_string(last + 1),
              "the last readable event is version " + std::to_string(last)
                + ", the latest version is " + std::to_string(*latest)});
    // Events before `first` (or all of them) are gone: recovery needs a
    // snapshot at or after the version before the first readable event.
    auto start = first == 0 ? *latest + 1 : first;
    if (start > 1 && newest_snapshot < start - 1 && *latest > 0)
      report({actor, "history_missing",
              "versions 1.." + std::to_string(start - 1),
              "the events are gone and no snapshot covers them: the actor "
              "cannot recover"});
    return caf::none;
  }

  void summary() {
    if (io_.json) {
      io_.out << boost::json::serialize(
        boost::json::object{{"actors", actors_},
                            {"events", events_},
                            {"snapshots", snapshots_},
                            {"problems", problems_}})
              << '\n';
      return;
    }
    io_.out << "checked " << actors_ << " actors, " << events_ << " events, "
            << snapshots_ << " snapshots: "
            << (problems_ == 0 ? std::string{"no problems"}
                               : std::to_string(problems_) + " problems")
            << '\n';
  }

  uint64_t problems() const {
    return problems_;
  }

private:
  void report(const problem& p) {
    ++problems_;
    if (io_.json) {
      io_.out << boost::json::serialize(
        boost::json::object{{"actorId", p.actor},
                            {"problem", p.kind},
                            {"where", p.where},
                            {"reason", p.reason}})
              << '\n';
      return;
    }
    io_.out << p.actor << ": " << p.kind << " at " << p.where << ": "
            << p.reason << '\n';
  }

  event_store_with_snapshots& store_;
  const command_io& io_;
  uint64_t actors_ = 0;
  uint64_t events_ = 0;
  uint64_t snapshots_ = 0;
  uint64_t problems_ = 0;
};

} // namespace

int verify_store(event_store_with_snapshots& store, const command_io& io) {
  verifier v{store, io};
  auto rc = for_each_actor(store, io, "verify", [&](const std::string& id) {
    return v.check(id);
  });
  if (rc != exit_ok)
    return rc;
  v.summary();
  return v.problems() == 0 ? exit_ok : exit_problem;
}

} // namespace aether::tool
