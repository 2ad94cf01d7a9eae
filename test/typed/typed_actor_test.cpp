// The typed persistent actor: typed events and state, effects with typed
// replies, typed interfaces, typed snapshot rules, unknown events, and
// interop with the untyped API on the same data.
#include "actor_fixture.hpp"
#include "aether/runtime/event_sourced.hpp"
#include "aether/runtime/runtime_error.hpp"
#include "aether/runtime/spawn_persistent.hpp"
#include "tally.hpp"

#include <boost/describe.hpp>
#include <caf/typed_actor.hpp>

using namespace aether;
using namespace aether::test;

namespace {

// The state and events of tally.hpp's untyped actor, typed: the same wire
// format ("added" with {"n": ...}).
struct added {
  static constexpr const char* event_type = "added";
  int64_t n = 0;
};
BOOST_DESCRIBE_STRUCT(added, (), (n))

struct closed {
  static constexpr const char* event_type = "closed";
};
BOOST_DESCRIBE_STRUCT(closed, (), ())

struct counter {
  int64_t sum = 0;
  int64_t count = 0;
  bool is_closed = false;
  void apply(const added& e) {
    sum += e.n;
    ++count;
  }
  void apply(const closed&) {
    is_closed = true;
  }
};
BOOST_DESCRIBE_STRUCT(counter, (), (sum, count, is_closed))

using twice_atom = caf::atom_constant<caf::atom("twice")>;

class counter_actor : public event_sourced<counter, events<added, closed>> {
public:
  using event_sourced::event_sourced;

  caf::behavior commands() override {
    return {
      [this](add_atom, int64_t n) -> caf::result<int64_t> {
        if (n == 0)
          return invalid_field("n", "must not be zero");
        return persist(added{n}).then_reply([](const counter& c) {
          return c.sum;
        });
      },
      [this](add_many_atom, int64_t a, int64_t b) {
        return persist(added{a}, added{b}).then_reply([](const counter& c) {
          return c.count;
        });
      },
      [this](twice_atom, int64_t n) {
        auto first = persist(added{n}).then_reply([](const counter& c) {
          return c.sum;
        });
        auto second = persist(added{n}).then_reply([](const counter& c) {
          return c.sum;
        });
        return first;
      },
      [this](close_atom) {
        return persist(closed{}).then_stop();
      },
      [this](get_atom) {
        return state().sum;
      },
      [this](stats_atom) {
        return std::vector<int64_t>{version(), recovered_from_snapshot(),
                                    events_replayed(), state().count};
      },
    };
  }
};

using counter_iface
  = caf::typed_actor<caf::replies_to<add_atom, int64_t>::with<int64_t>,
                     caf::replies_to<get_atom>::with<int64_t>>;

class typed_counter
  : public event_sourced<counter, events<added, closed>, counter_iface> {
public:
  using event_sourced::event_sourced;

  commands_type commands() override {
    return {
      [this](add_atom, int64_t n) {
        return persist(added{n}).then_reply([](const counter& c) {
          return c.sum;
        });
      },
      [this](get_atom) {
        return state().sum;
      },
    };
  }
};

/// Skips events it does not know, counting them.
class lenient_counter : public counter_actor {
public:
  using counter_actor::counter_actor;

protected:
  caf::error on_unknown_event(const event&) override {
    mutable_state().count += 1000;
    return caf::none;
  }
};

struct fixture : actor_fixture {
  std::vector<std::string> log;

  persistence_options opts(snapshot_policy p = {}) {
    persistence_options o;
    o.snapshots = std::move(p);
    o.log = [this](const std::string& line) {
      log.push_back(line);
    };
    return o;
  }

  /// Spawns and runs until the actor is idle; `run_now = false` for an
  /// actor that stops at once (the test's first request must be queued
  /// before it stops to get its error).
  template <class T = counter_actor>
  caf::actor
  spawn(const std::string& id, persistence_options o, bool run_now = true) {
    auto a = caf::actor_cast<caf::actor>(spawn_actor<T>(id, ctx, o));
    if (run_now)
      run();
    return a;
  }
};

} // namespace

TEST_CASE_METHOD(fixture, "typed actor: persist stores typed events as JSON") {
  auto a = spawn("c1", opts());
  CHECK(ask<int64_t>(a, add_atom::value, int64_t{5}) == 5);
  CHECK(ask<int64_t>(a, add_atom::value, int64_t{7}) == 12);
  auto events = memory->get_events("c1", 1);
  REQUIRE(events);
  REQUIRE(events->size() == 2);
  CHECK((*events)[1].type == "added");
  CHECK((*events)[1].data == boost::json::object{{"n", 7}});
  CHECK((*events)[1].version == 2);
}

TEST_CASE_METHOD(fixture, "typed actor: several events are one batch") {
  auto a = spawn("c1", opts());
  CHECK(ask<int64_t>(a, add_many_atom::value, int64_t{1}, int64_t{2}) == 2);
  auto events = memory->get_events("c1", 1);
  REQUIRE(events);
  CHECK(events->size() == 2);
}

TEST_CASE_METHOD(fixture, "typed actor: a refused command names the field") {
  auto a = spawn("c1", opts());
  auto res = ask<int64_t>(a, add_atom::value, int64_t{0});
  REQUIRE_FALSE(res);
  INFO(sys.render(res.error()));
  CHECK(is(res.error(), persistence_error::invalid_argument));
  CHECK(describe(res.error()) == "n: must not be zero");
  CHECK(memory->get_events("c1", 1)->empty());
}

TEST_CASE_METHOD(fixture, "typed actor: recovers from a derived snapshot") {
  auto a = spawn("c1", opts(snapshot_policy{}.every_events(3)));
  for (int64_t i = 1; i <= 7; ++i)
    REQUIRE(ask<int64_t>(a, add_atom::value, i));
  run();
  auto snap = memory->get_latest_snapshot("c1");
  REQUIRE(snap);
  REQUIRE(*snap);
  CHECK((*snap)->version == 6);
  CHECK(
    (*snap)->state
    == boost::json::object{{"sum", 21}, {"count", 6}, {"is_closed", false}});
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  run();
  auto b = spawn("c1", opts(snapshot_policy{}.every_events(3)));
  CHECK(ask<std::vector<int64_t>>(b, stats_atom::value)
        == std::vector<int64_t>{7, 6, 1, 7});
  CHECK(ask<int64_t>(b, get_atom::value) == 28);
}

TEST_CASE_METHOD(fixture, "typed actor: recovers events of the untyped API") {
  // Written by tally_actor (persistent_actor<tally>, hand-written JSON).
  auto untyped = spawn_actor<tally_actor>("c1", ctx, opts());
  run();
  for (int64_t i = 1; i <= 4; ++i)
    REQUIRE(ask<int64_t>(untyped, add_atom::value, i));
  caf::anon_send_exit(untyped, caf::exit_reason::user_shutdown);
  run();
  auto typed = spawn("c1", opts());
  CHECK(ask<int64_t>(typed, get_atom::value) == 10);
  CHECK(ask<std::vector<int64_t>>(typed, stats_atom::value)
        == std::vector<int64_t>{4, 0, 4, 4});
  // And the untyped actor reads what the typed one wrote.
  REQUIRE(ask<int64_t>(typed, add_atom::value, int64_t{5}));
  caf::anon_send_exit(typed, caf::exit_reason::user_shutdown);
  run();
  auto again = spawn_actor<tally_actor>("c1", ctx, opts());
  run();
  CHECK(ask<int64_t>(again, get_atom::value) == 15);
}

TEST_CASE_METHOD(fixture, "typed actor: a corrupt payload fails recovery "
                          "naming the event and the field") {
  REQUIRE(memory->save_event(
    make_event("added", "c1", 1, boost::json::object{{"n", 1}})));
  auto bad = make_event("added", "c1", 2, boost::json::object{{"n", "x"}});
  bad.id = "bad-id";
  REQUIRE(memory->save_event(bad));
  auto a = spawn("c1", opts(), false);
  auto res = ask<int64_t>(a, get_atom::value);
  REQUIRE_FALSE(res);
  INFO(sys.render(res.error()));
  CHECK(is(res.error(), persistence_error::corrupt_data));
  auto msg = describe(res.error());
  CHECK(msg.find("bad-id") != std::string::npos);
  CHECK(msg.find("field \"n\"") != std::string::npos);
}

TEST_CASE_METHOD(fixture, "typed actor: an unknown event type fails by "
                          "default, or goes to the declared handler") {
  REQUIRE(memory->save_event(
    make_event("added", "c1", 1, boost::json::object{{"n", 1}})));
  REQUIRE(memory->save_event(make_event("renamed", "c1", 2)));
  auto a = spawn("c1", opts(), false);
  auto res = ask<int64_t>(a, get_atom::value);
  REQUIRE_FALSE(res);
  INFO(sys.render(res.error()));
  CHECK(is(res.error(), persistence_error::corrupt_data));
  CHECK(describe(res.error()).find("\"renamed\"") != std::string::npos);
  CHECK(describe(res.error()).find("added, closed") != std::string::npos);
  auto b = spawn<lenient_counter>("c1", opts());
  CHECK(ask<std::vector<int64_t>>(b, stats_atom::value)
        == std::vector<int64_t>{2, 0, 2, 1001});
}

TEST_CASE_METHOD(fixture, "typed actor: one persist per handler") {
  auto a = spawn("c1", opts());
  // The first effect answers; the second is refused and logged.
  CHECK(ask<int64_t>(a, twice_atom::value, int64_t{3}) == 3);
  REQUIRE(log.size() == 1);
  CHECK(log[0].find("one persist per command handler") != std::string::npos);
  // Only the first persist was stored.
  CHECK(memory->get_events("c1", 1)->size() == 1);
  CHECK(ask<int64_t>(a, get_atom::value) == 3);
}

TEST_CASE_METHOD(fixture, "typed actor: then_stop replies, then stops") {
  auto a = spawn("c1", opts());
  REQUIRE(ask<int64_t>(a, add_atom::value, int64_t{1}));
  auto hdl = post(a, close_atom::value);
  run();
  bool replied = false;
  hdl.receive(
    [&] {
      replied = true;
    },
    [&](caf::error& err) {
      FAIL(describe(err));
    });
  CHECK(replied);
  auto after = ask<int64_t>(a, get_atom::value);
  REQUIRE_FALSE(after);
  CHECK(memory->get_events("c1", 1)->back().type == "closed");
}

TEST_CASE_METHOD(fixture, "typed actor: a typed interface") {
  // spawn returns the typed handle: the compiler checks every request.
  counter_iface a = sys.spawn<typed_counter>("c1", ctx, opts());
  spawned.push_back(caf::actor_cast<caf::actor>(a));
  run();
  auto hdl = self->request(a, caf::infinite, add_atom::value, int64_t{4});
  run();
  int64_t got = 0;
  hdl.receive(
    [&](int64_t x) {
      got = x;
    },
    [&](caf::error& err) {
      FAIL(describe(err));
    });
  CHECK(got == 4);
  CHECK(memory->get_events("c1", 1)->size() == 1);
}

TEST_CASE_METHOD(fixture, "typed actor: a typed snapshot rule") {
  auto policy = counter_actor::snapshot_when(
    [](const counter& c, const added& e, int64_t) {
      return e.n == 100 || c.sum > 1000;
    });
  auto a = spawn("c1", opts(policy));
  REQUIRE(ask<int64_t>(a, add_atom::value, int64_t{1}));
  REQUIRE(ask<int64_t>(a, add_atom::value, int64_t{100}));
  REQUIRE(ask<int64_t>(a, add_atom::value, int64_t{2}));
  run();
  auto snap = memory->get_latest_snapshot("c1");
  REQUIRE(snap);
  REQUIRE(*snap);
  CHECK((*snap)->version == 2);
}

TEST_CASE_METHOD(fixture, "typed actor: a policy for another state type is "
                          "refused at spawn") {
  auto policy
    = snapshot_policy{}.when<tally>([](const tally&, const event&, int64_t) {
        return true;
      });
  auto a = spawn("c1", opts(policy), false);
  auto res = ask<int64_t>(a, get_atom::value);
  REQUIRE_FALSE(res);
  INFO(sys.render(res.error()));
  CHECK(is(res.error(), runtime_error::invalid_option));
  CHECK(describe(res.error()).find("another type") != std::string::npos);
}

namespace {

struct plain {
  int64_t n = 0;
  void apply(const added& e) {
    n += e.n;
  }
};

class plain_actor : public event_sourced<plain, events<added>> {
public:
  using event_sourced::event_sourced;
  caf::behavior commands() override {
    return {
      [this](add_atom, int64_t n) {
        return persist(added{n}).then_reply([](const plain& s) {
          return s.n;
        });
      },
    };
  }
};

} // namespace

TEST_CASE_METHOD(fixture, "typed actor: a state without a codec needs no "
                          "snapshots, and refuses a policy") {
  auto a = spawn<plain_actor>("p1", opts());
  CHECK(ask<int64_t>(a, add_atom::value, int64_t{3}) == 3);
  auto b = spawn<plain_actor>("p2", opts(snapshot_policy{}.every_events(1)),
                              false);
  auto res = ask<int64_t>(b, add_atom::value, int64_t{3});
  REQUIRE_FALSE(res);
  INFO(sys.render(res.error()));
  CHECK(is(res.error(), runtime_error::invalid_option));
  CHECK(describe(res.error()).find("no snapshot codec") != std::string::npos);
  // Passivation works without a codec (nothing to save).
  auto v = ask<int64_t>(a, passivate_atom::value);
  REQUIRE(v);
  CHECK(*v == 1);
  CHECK(memory->get_events("p1", 1)->size() == 1);
}

namespace {

caf::behavior counter_fn(event_sourced<counter, events<added, closed>>* self) {
  return {
    [self](add_atom, int64_t n) {
      return self->persist(added{n}).then_reply(&counter::sum);
    },
    [self](get_atom) {
      return self->state().sum;
    },
  };
}

} // namespace

TEST_CASE_METHOD(fixture, "typed actor: function-based, replying a member") {
  auto a = spawn_persistent(sys, counter_fn, "f1", ctx, opts());
  spawned.push_back(a);
  run();
  CHECK(ask<int64_t>(a, add_atom::value, int64_t{2}) == 2);
  CHECK(ask<int64_t>(a, add_atom::value, int64_t{3}) == 5);
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  run();
  // Recovers like any persistent actor.
  auto b = spawn_persistent(sys, counter_fn, "f1", ctx, opts());
  spawned.push_back(b);
  run();
  CHECK(ask<int64_t>(b, get_atom::value) == 5);
}

namespace {

// Sets its snapshot policy with its commands, as Akka's withRetention.
caf::behavior snapping_fn(event_sourced_ptr<counter, added, closed> self) {
  self->snapshots().every_events(2);
  return counter_fn(self);
}

caf::behavior plain_snapping_fn(event_sourced_ptr<plain, added> self) {
  self->snapshots().every_events(2);
  return {[self](add_atom, int64_t n) {
    return self->persist(added{n}).then_reply(&plain::n);
  }};
}

caf::behavior throwing_fn(event_sourced_ptr<plain, added>) {
  throw std::runtime_error("no commands today");
}

} // namespace

TEST_CASE_METHOD(fixture, "typed actor: the function sets the snapshot "
                          "policy") {
  auto a = spawn_persistent(sys, snapping_fn, "s1", ctx, opts());
  spawned.push_back(a);
  run();
  for (int64_t n = 1; n <= 5; ++n)
    REQUIRE(ask<int64_t>(a, add_atom::value, n));
  auto snap = memory->get_latest_snapshot("s1");
  REQUIRE(snap);
  REQUIRE(*snap);
  CHECK((*snap)->version == 4);
  // The policy set there is checked like one given at spawn.
  auto b = spawn_persistent(sys, plain_snapping_fn, "s2", ctx, opts());
  spawned.push_back(b);
  auto res = ask<int64_t>(b, add_atom::value, int64_t{1});
  REQUIRE_FALSE(res);
  CHECK(is(res.error(), runtime_error::invalid_option));
  CHECK(describe(res.error()).find("no snapshot codec") != std::string::npos);
}

TEST_CASE_METHOD(fixture, "typed actor: commands that throw stop the actor "
                          "with the error") {
  auto a = spawn_persistent(sys, throwing_fn, "t1", ctx, opts());
  spawned.push_back(a);
  auto res = ask<int64_t>(a, add_atom::value, int64_t{1});
  REQUIRE_FALSE(res);
  CHECK(is(res.error(), runtime_error::user_code_failed));
  CHECK(describe(res.error()).find("no commands today") != std::string::npos);
  CHECK(memory->get_events("t1", 1)->empty());
}
