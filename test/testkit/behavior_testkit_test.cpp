// behavior_testkit: commands give back their events, state and reply;
// restart recovers; seeded history; the JSON round-trip checks; failure
// policies and delays on the kit's store; function-based actors.
#include "aether/runtime/event_sourced.hpp"
#include "aether/testkit/behavior_testkit.hpp"
#include "catch.hpp"

#include <caf/all.hpp>

using namespace aether;
using namespace aether::testkit;
using namespace std::chrono_literals;

namespace {

using add_atom = caf::atom_constant<caf::atom("add")>;
using reset_atom = caf::atom_constant<caf::atom("reset")>;
using get_atom = caf::atom_constant<caf::atom("get")>;
using noop_atom = caf::atom_constant<caf::atom("noop")>;

AETHER_DEFINE_EVENT(kit_added, "kit_added", (int64_t, n))
AETHER_DEFINE_EVENT(kit_reset, "kit_reset", (std::string, why))

struct tally {
  int64_t sum = 0;
  int64_t resets = 0;
  void apply(const kit_added& e) {
    sum += e.n;
  }
  void apply(const kit_reset&) {
    sum = 0;
    ++resets;
  }
  bool operator==(const tally& y) const {
    return sum == y.sum && resets == y.resets;
  }
};
BOOST_DESCRIBE_STRUCT(tally, (), (sum, resets))

class tally_actor : public event_sourced<tally, events<kit_added, kit_reset>> {
public:
  using event_sourced::event_sourced;

  caf::behavior commands() override {
    return {
      [this](add_atom, int64_t n) -> caf::result<int64_t> {
        if (n <= 0)
          return invalid_field("n", "must be positive");
        return persist(kit_added{n}).then_reply(&tally::sum);
      },
      [this](add_atom, int64_t n, int64_t m) {
        return persist(kit_added{n}, kit_added{m}).then_reply(&tally::sum);
      },
      [this](reset_atom, std::string why) {
        return persist(kit_reset{std::move(why)}).then_reply(&tally::resets);
      },
      [this](get_atom) {
        return state().sum;
      },
      [](noop_atom) {
        // replies nothing
      },
    };
  }
};

// A state whose snapshot forgets a field: `hidden` is not described.
struct leaky {
  int64_t sum = 0;
  int64_t hidden = 0;
  void apply(const kit_added& e) {
    sum += e.n;
    hidden += 1;
  }
  bool operator==(const leaky& y) const {
    return sum == y.sum && hidden == y.hidden;
  }
};
BOOST_DESCRIBE_STRUCT(leaky, (), (sum))

class leaky_actor : public event_sourced<leaky, events<kit_added>> {
public:
  using event_sourced::event_sourced;
  caf::behavior commands() override {
    return {[this](add_atom, int64_t n) {
      return persist(kit_added{n}).then_reply(&leaky::sum);
    }};
  }
};

caf::behavior tally_fn(event_sourced_ptr<tally, kit_added, kit_reset> self) {
  self->snapshots().every_events(2);
  return {[self](add_atom, int64_t n) {
    return self->persist(kit_added{n}).then_reply(&tally::sum);
  }};
}

} // namespace

TEST_CASE("behavior testkit: a command gives its events, state and reply") {
  behavior_testkit<tally_actor> kit{"t-1"};
  auto r = kit.run<int64_t>(add_atom::value, int64_t{5});
  REQUIRE(r.reply);
  CHECK(r.reply == int64_t{5});
  REQUIRE(r.events.size() == 1);
  CHECK(r.event_at<kit_added>(0).n == 5);
  REQUIRE(r.stored.size() == 1);
  CHECK(r.stored[0].version == 1);
  CHECK(r.stored[0].type == "kit_added");
  CHECK(r.state.sum == 5);
  auto r2 = kit.run<int64_t>(add_atom::value, int64_t{1}, int64_t{2});
  REQUIRE(r2.events.size() == 2);
  CHECK(r2.stored[0].version == 2);
  CHECK(r2.stored[1].version == 3);
  CHECK(r2.reply == int64_t{8});
  CHECK(kit.state().sum == 8);
  CHECK(kit.events().size() == 3);
}

TEST_CASE("behavior testkit: a refused command stores nothing") {
  behavior_testkit<tally_actor> kit{"t-1"};
  auto r = kit.run<int64_t>(add_atom::value, int64_t{-1});
  REQUIRE_FALSE(r.reply);
  CHECK(describe(r.reply.error()).find("n: must be positive")
        != std::string::npos);
  CHECK(r.events.empty());
  CHECK(r.state.sum == 0);
  CHECK(kit.latest_version() == 0);
}

TEST_CASE("behavior testkit: queries and commands without a reply") {
  behavior_testkit<tally_actor> kit{"t-1"};
  kit.run<int64_t>(add_atom::value, int64_t{4});
  auto q = kit.run<int64_t>(get_atom::value);
  CHECK(q.reply == int64_t{4});
  CHECK(q.events.empty());
  auto n = kit.run(noop_atom::value);
  CHECK(n.reply);
  CHECK(n.events.empty());
}

TEST_CASE("behavior testkit: restart recovers from the store") {
  testkit_options o;
  o.persistence.snapshots.every_events(2);
  behavior_testkit<tally_actor> kit{"t-1", o};
  for (int64_t i = 1; i <= 5; ++i)
    kit.run<int64_t>(add_atom::value, i);
  auto back = kit.restart();
  CHECK(back.state.sum == 15);
  CHECK(back.version == 5);
  CHECK(back.from_snapshot == 4);
  CHECK(back.events_replayed == 1);
  // It goes on where it was.
  CHECK(kit.run<int64_t>(add_atom::value, int64_t{1}).reply == int64_t{16});
}

TEST_CASE("behavior testkit: seeded history") {
  behavior_testkit<tally_actor> kit{"t-1"};
  SECTION("events") {
    kit.seed_events({kit_added{10}, kit_reset{"audit"}, kit_added{3}});
    CHECK(kit.state() == tally{3, 1});
    auto r = kit.run<int64_t>(add_atom::value, int64_t{1});
    CHECK(r.reply == int64_t{4});
    CHECK(r.stored[0].version == 4);
  }
  SECTION("a snapshot and the events after it") {
    kit.seed_events({kit_added{1}, kit_added{1}});
    kit.seed_snapshot(tally{100, 0}); // stands for versions 1..2
    kit.seed_events({kit_added{5}});
    CHECK(kit.state().sum == 105);
    CHECK(kit.actor()->recovered_from_snapshot() == 2);
    CHECK(kit.actor()->events_replayed() == 1);
  }
  SECTION("a snapshot needs an event before it") {
    CHECK_THROWS_AS(kit.seed_snapshot(tally{1, 0}), check_failed);
  }
}

TEST_CASE("behavior testkit: a state that does not round-trip is reported") {
  behavior_testkit<leaky_actor> kit{"l-1"};
  try {
    kit.run<int64_t>(add_atom::value, int64_t{1});
    FAIL("no check_failed thrown");
  } catch (const check_failed& e) {
    CHECK(std::string{e.what()}.find("not == to the state")
          != std::string::npos);
  }
  // Turned off, the same command goes through.
  testkit_options o;
  o.check_round_trip = false;
  behavior_testkit<leaky_actor> quiet{"l-1", o};
  CHECK(quiet.run<int64_t>(add_atom::value, int64_t{1}).reply == int64_t{1});
}

TEST_CASE("behavior testkit: store failures reach the command") {
  behavior_testkit<tally_actor> kit{"t-1"};
  SECTION("a failed append: an error, nothing stored, the actor goes on") {
    kit.store().set(store_operation::append, failure_policy::fail().times(1));
    auto r = kit.run<int64_t>(add_atom::value, int64_t{2});
    REQUIRE_FALSE(r.reply);
    CHECK(is(r.reply.error(), persistence_error::unavailable));
    CHECK(r.events.empty());
    CHECK(r.state.sum == 0);
    CHECK_FALSE(kit.stopped());
    CHECK(kit.run<int64_t>(add_atom::value, int64_t{3}).reply == int64_t{3});
  }
  SECTION("an unknown outcome that landed stops the actor; the next "
          "command starts it again, seeing the event") {
    kit.store().set(store_operation::append,
                    failure_policy::unknown_outcome(true).times(1));
    auto r = kit.run<int64_t>(add_atom::value, int64_t{2});
    REQUIRE_FALSE(r.reply);
    CHECK(is(r.reply.error(), persistence_error::unknown_outcome));
    CHECK(r.stored.size() == 1); // it landed
    REQUIRE(kit.stopped());
    CHECK(kit.run<int64_t>(get_atom::value).reply == int64_t{2});
  }
  SECTION("a failed recovery read") {
    kit.run<int64_t>(add_atom::value, int64_t{2});
    kit.store().set(store_operation::read, failure_policy::fail().times(1));
    kit.restart();
    REQUIRE(kit.stopped()); // not started again behind the test's back
    CHECK(is(*kit.stopped(), persistence_error::unavailable));
    CHECK(kit.state().sum == 0); // the stopped actor's state
    kit.store().clear();
    CHECK(kit.run<int64_t>(get_atom::value).reply == int64_t{2});
  }
  SECTION("a delayed append completes, in real time") {
    kit.store().set(store_operation::append,
                    failure_policy::delay(30ms).times(1));
    auto t0 = std::chrono::steady_clock::now();
    auto r = kit.run<int64_t>(add_atom::value, int64_t{2});
    CHECK(std::chrono::steady_clock::now() - t0 >= 30ms);
    CHECK(r.reply == int64_t{2});
    CHECK(r.events.size() == 1);
  }
}

TEST_CASE("behavior testkit: function-based actors") {
  auto kit = make_behavior_testkit(tally_fn, "f-1");
  for (int64_t i = 1; i <= 3; ++i)
    CHECK(kit.run<int64_t>(add_atom::value, i).events.size() == 1);
  auto back = kit.restart();
  CHECK(back.state.sum == 6);
  CHECK(back.from_snapshot == 2);
}
