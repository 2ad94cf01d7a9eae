// Model-based test of persistent actors (issue 12): random sequences of
// commands, snapshots, a second writer, corrupt snapshots and restarts
// against a tally actor with a random snapshot policy (interval, retention,
// event deletion), on the memory and the SQLite store, driven by CAF's
// deterministic test_coordinator. After every step the actor's state is the
// fold of what was acknowledged, a restarted actor recovers exactly that,
// the latest version never lowers, and every stored event is one that was
// acknowledged at that version.
#include "actor_fixture.hpp"
#include "aether/core/error.hpp"
#include "aether/runtime/persistent_actor.hpp"
#include "aether/sqlite/sqlite_store.hpp"
#include "tally.hpp"
#include "temp_dir.hpp"

#include <rapidcheck.h>
#include <rapidcheck/catch.h>
#include <sqlite3.h>

using namespace aether;
using namespace aether::test;

namespace {

enum class step_kind {
  add,          // one event
  add_many,     // persist_all of 1-5 events
  snapshot,     // save_snapshot() now
  other_writer, // another writer appends the next version
  corrupt,      // the newest snapshot becomes garbage (once per sequence)
  restart,      // stop the actor and spawn it again: it recovers
  burst,        // 1-5 adds sent at once (pipelined: in flight together)
};

struct step {
  step_kind k = step_kind::add;
  std::vector<int64_t> ns;
};

struct policy {
  int64_t every = 0; // 0: no automatic snapshots
  size_t keep = 0;   // keep_newest (0: all)
  bool delete_events = false;
  bool pipelined = false; // persist_mode::pipelined, window 3
};

} // namespace

namespace rc {

template <>
struct Arbitrary<step> {
  static Gen<step> arbitrary() {
    return gen::build<step>(
      gen::set(&step::k,
               gen::weightedElement<step_kind>({{8, step_kind::add},
                                                {3, step_kind::add_many},
                                                {2, step_kind::snapshot},
                                                {1, step_kind::other_writer},
                                                {1, step_kind::corrupt},
                                                {2, step_kind::restart},
                                                {3, step_kind::burst}})),
      gen::set(&step::ns, gen::container<std::vector<int64_t>>(
                            gen::inRange<int64_t>(-20, 21))));
  }
};

template <>
struct Arbitrary<policy> {
  static Gen<policy> arbitrary() {
    return gen::build<policy>(
      gen::set(&policy::every, gen::inRange<int64_t>(0, 6)),
      gen::set(&policy::keep, gen::inRange<size_t>(0, 4)),
      gen::set(&policy::delete_events, gen::arbitrary<bool>()),
      gen::set(&policy::pipelined, gen::arbitrary<bool>()));
  }
};

} // namespace rc

namespace {

void showValue(const step& s, std::ostream& os) {
  static const char* names[] = {"add",          "add_many", "snapshot",
                                "other_writer", "corrupt",  "restart",
                                "burst"};
  os << names[static_cast<int>(s.k)] << "(" << s.ns.size() << " numbers)";
}

void showValue(const policy& p, std::ostream& os) {
  os << "every " << p.every << ", keep " << p.keep
     << (p.delete_events ? ", delete events" : "")
     << (p.pipelined ? ", pipelined" : "");
}

template <class MakeStore>
void run_actor_sequence(const policy& pol, const std::vector<step>& steps,
                        MakeStore make_store) {
  auto holder = make_store();
  std::shared_ptr<event_store_with_snapshots> store = holder.second;
  actor_fixture f{store};
  persistence_options opts;
  opts.log = [](const std::string&) {};
  if (pol.every > 0)
    opts.snapshots.every_events(pol.every);
  opts.snapshots.keep_newest(pol.keep).delete_events(pol.delete_events);
  if (pol.pipelined) {
    opts.mode = persist_mode::pipelined;
    opts.pipeline_window = 3;
  }
  // Corrupting the newest snapshot is survivable where the full history is
  // still there (with event deletion it may be the one that covers the
  // deleted events: recovery then fails, rightly, see the store model).
  bool may_corrupt = !pol.delete_events;
  bool corrupted = false;
  const std::string id = "acc";
  std::vector<int64_t> acked; // acked[v - 1]: the number of version v
  auto fold = [&] {
    tally t;
    for (auto n : acked) {
      event e;
      e.data = boost::json::object{{"n", n}};
      t.apply(e);
    }
    return t;
  };
  auto actor = f.spawn_actor<tally_actor>(id, f.ctx, opts);
  f.run(); // recovered
  auto check_state = [&] {
    auto sum = f.ask<int64_t>(actor, get_atom::value);
    if (!sum)
      RC_FAIL("the actor does not answer: " + describe(sum.error()));
    auto seen = f.ask<std::vector<int64_t>>(actor, seen_atom::value);
    RC_ASSERT(bool(seen));
    auto want = fold();
    RC_ASSERT(*sum == want.sum);
    RC_ASSERT(*seen == want.seen);
    auto latest = store->get_latest_version(id);
    RC_ASSERT(bool(latest));
    RC_ASSERT(*latest == static_cast<int64_t>(acked.size()));
    // Every stored event is the acknowledged one at its version, and the
    // stored ones are a suffix of the history ending at the latest.
    auto events = store->get_events(id, 1);
    RC_ASSERT(bool(events));
    for (size_t i = 0; i < events->size(); ++i) {
      auto& e = (*events)[i];
      RC_ASSERT(e.version >= 1 && e.version <= *latest);
      RC_ASSERT(e.data.at("n").as_int64()
                == acked[static_cast<size_t>(e.version - 1)]);
      RC_ASSERT(e.version
                == *latest - static_cast<int64_t>(events->size() - 1 - i));
    }
  };
  for (auto& s : steps) {
    RC_LOG() << static_cast<int>(s.k) << " ";
    switch (s.k) {
      case step_kind::add: {
        auto n = s.ns.empty() ? int64_t{1} : s.ns.front();
        auto r = f.ask<int64_t>(actor, add_atom::value, n);
        if (!r)
          RC_FAIL("add failed: " + describe(r.error()));
        acked.push_back(n);
        break;
      }
      case step_kind::add_many: {
        std::vector<int64_t> ns(
          s.ns.begin(),
          s.ns.begin()
            + static_cast<ptrdiff_t>(std::min<size_t>(s.ns.size(), 5)));
        if (ns.empty())
          ns.push_back(2);
        auto r = f.ask<int64_t>(actor, add_many_atom::value, ns);
        if (!r)
          RC_FAIL("add_many failed: " + describe(r.error()));
        acked.insert(acked.end(), ns.begin(), ns.end());
        break;
      }
      case step_kind::snapshot:
        RC_ASSERT(bool(f.ask<int64_t>(actor, snap_atom::value)));
        break;
      case step_kind::burst: {
        std::vector<int64_t> ns(
          s.ns.begin(),
          s.ns.begin()
            + static_cast<ptrdiff_t>(std::min<size_t>(s.ns.size(), 5)));
        if (ns.empty())
          ns.push_back(3);
        std::vector<decltype(f.post(actor, add_atom::value, int64_t{0}))>
          replies;
        for (auto n : ns)
          replies.push_back(f.post(actor, add_atom::value, n));
        f.run();
        // Each reply is the sum right after its own event.
        auto want = fold();
        for (size_t i = 0; i < ns.size(); ++i) {
          want.sum += ns[i];
          int64_t got = 0;
          std::string failed;
          replies[i].receive(
            [&](int64_t x) {
              got = x;
            },
            [&](caf::error& err) {
              failed = describe(err);
            });
          if (!failed.empty())
            RC_FAIL("burst add failed: " + failed);
          RC_ASSERT(got == want.sum);
        }
        acked.insert(acked.end(), ns.begin(), ns.end());
        break;
      }
      case step_kind::other_writer: {
        auto v = static_cast<int64_t>(acked.size()) + 1;
        RC_ASSERT(bool(store->save_event(
          make_event("added", id, v, boost::json::object{{"n", 100}}))));
        acked.push_back(100);
        // The actor's next command conflicts, fails, and the actor
        // re-recovers; the one after it succeeds.
        auto r = f.ask<int64_t>(actor, add_atom::value, int64_t{7});
        RC_ASSERT(!r);
        RC_ASSERT(is(r.error(), persistence_error::version_conflict));
        break;
      }
      case step_kind::corrupt: {
        if (!may_corrupt || corrupted)
          break;
        auto latest = store->get_latest_snapshot(id);
        if (!latest || !*latest)
          break;
        holder.first((*latest)->version);
        corrupted = true;
        break;
      }
      case step_kind::restart:
        caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
        f.run();
        actor = f.spawn_actor<tally_actor>(id, f.ctx, opts);
        f.run(); // recovered
        break;
    }
    f.run();
    check_state();
  }
}

} // namespace

TEST_CASE("model: persistent actors on the memory store") {
  rc::prop("every sequence agrees with the model",
           [](const policy& pol, const std::vector<step>& steps) {
             run_actor_sequence(pol, steps, [] {
               auto m = std::make_shared<memory_store>();
               std::function<void(int64_t)> corrupt = [m](int64_t v) {
                 m->corrupt_snapshot_for_testing("acc", v, "{garbage");
               };
               return std::make_pair(
                 corrupt,
                 std::static_pointer_cast<event_store_with_snapshots>(m));
             });
           });
}

TEST_CASE("model: persistent actors on the SQLite store") {
  rc::prop(
    "every sequence agrees with the model",
    [](const policy& pol, const std::vector<step>& steps) {
      run_actor_sequence(pol, steps, [] {
        auto dir = std::make_shared<temp_dir>();
        auto path = dir->file("actor-model.db");
        auto opened = sqlite_store::open(path);
        RC_ASSERT(bool(opened));
        std::shared_ptr<event_store_with_snapshots> store = std::move(*opened);
        std::function<void(int64_t)> corrupt = [dir, path](int64_t v) {
          sqlite3* db = nullptr;
          RC_ASSERT(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
          auto sql = "UPDATE snapshots SET body = '{garbage' WHERE "
                     "actor_id = 'acc' AND version = "
                     + std::to_string(v);
          auto rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
          sqlite3_close(db);
          RC_ASSERT(rc == SQLITE_OK);
        };
        return std::make_pair(corrupt, store);
      });
    });
}
