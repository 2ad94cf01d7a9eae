#include "aether/core/error.hpp"
#include "aether/persistence/forwarding_store.hpp"
#include "aether/persistence/memory_store.hpp"
#include "aether/runtime/config.hpp"
#include "aether/runtime/persistence_options.hpp"
#include "aether/runtime/runtime_error.hpp"
#include "aether/snapshot/capture.hpp"
#include "aether/snapshot/retention.hpp"
#include "aether/snapshot/snapshot_policy.hpp"
#include "catch.hpp"
#include "parse_args.hpp"
#include "tally.hpp"

#include <sstream>

using namespace aether;
using aether::test::tally;

namespace {

struct checker {
  snapshot_policy policy;
  event ev = make_event("added", "a", 1, boost::json::object{{"n", 1}});
  tally state;
  timestamp last = timestamp{std::chrono::seconds{1000}};
  timestamp at = last;

  bool fires(int64_t version, int64_t since) {
    ev.version = version;
    snapshot_check c{ev, version, since, last, at, &state, typeid(tally)};
    return policy.should_snapshot(c);
  }
};

event added(const std::string& id, int64_t v, int64_t n) {
  return make_event("added", id, v, boost::json::object{{"n", n}});
}

} // namespace

TEST_CASE("policy: the default never fires") {
  checker c;
  CHECK_FALSE(c.policy.enabled());
  CHECK_FALSE(c.fires(1000000, 1000000));
  CHECK_FALSE(c.policy.max_replay());
}

TEST_CASE("policy: every N events") {
  checker c;
  c.policy.every_events(100);
  CHECK_FALSE(c.fires(99, 99));
  CHECK(c.fires(100, 100));
  CHECK(c.fires(250, 100));
  CHECK_FALSE(c.fires(250, 50));
  CHECK(c.policy.max_replay() == int64_t{100});
}

TEST_CASE("policy: version-based hybrid") {
  checker c;
  c.policy.every_versions(10, 4, 25);
  CHECK(c.fires(10, 10));
  CHECK_FALSE(c.fires(10, 3)); // too soon after the last one
  CHECK(c.fires(10, 4));
  CHECK_FALSE(c.fires(11, 24));
  CHECK(c.fires(11, 25)); // the maximum forces one
  CHECK(c.policy.max_replay() == int64_t{25});
}

TEST_CASE("policy: time-based") {
  checker c;
  c.policy.every_interval(std::chrono::seconds{30});
  CHECK_FALSE(c.fires(5, 5));
  c.at = c.last + std::chrono::seconds{29};
  CHECK_FALSE(c.fires(5, 5));
  c.at = c.last + std::chrono::seconds{30};
  CHECK(c.fires(5, 5));
  CHECK_FALSE(c.policy.max_replay());
}

TEST_CASE("policy: event types, predicates and composition") {
  checker c;
  c.policy.on_event_types({"closed"})
    .when<tally>([](const tally& s, const event&, int64_t v) {
      return s.sum > 10 || v == 7;
    });
  CHECK_FALSE(c.fires(1, 1));
  c.ev.type = "closed";
  CHECK(c.fires(1, 1));
  c.ev.type = "added";
  CHECK(c.fires(7, 1));
  c.state.sum = 11;
  CHECK(c.fires(2, 1));
  SECTION("a predicate for another state type never fires") {
    checker d;
    d.policy.when<int>([](const int&, const event&, int64_t) {
      return true;
    });
    CHECK_FALSE(d.fires(1, 1));
  }
  SECTION("after-recovery limit can be set or disabled") {
    c.policy.every_events(50);
    CHECK(c.policy.max_replay() == int64_t{50});
    c.policy.snapshot_after_recovery_above(200);
    CHECK(c.policy.max_replay() == int64_t{200});
    c.policy.snapshot_after_recovery_above(std::nullopt);
    CHECK_FALSE(c.policy.max_replay());
  }
}

namespace {

/// The persistence options of a command line (after the program name).
caf::expected<persistence_options>
options_from_args(std::vector<std::string> args) {
  aether::config cfg;
  test::parse_args(cfg, std::move(args));
  return persistence_options::from_config(cfg);
}

} // namespace

TEST_CASE("options from CAF's command line and config file") {
  SECTION("command line") {
    auto parsed = options_from_args(
      {"--aether.snapshot.every=100", "--aether.snapshot.keep=3",
       "--aether.snapshot.event-types=[\"closed\"]",
       "--aether.persist.on-unknown-outcome=restart",
       "--aether.recovery.batch-size=500"});
    REQUIRE(parsed);
    auto& opts = *parsed;
    CHECK(opts.snapshots.max_replay() == int64_t{100});
    CHECK(opts.snapshots.retention() == 3);
    CHECK(opts.on_unknown_outcome == failure_mode::restart);
    CHECK(opts.recovery_batch_size == 500);
    checker c;
    c.policy = opts.snapshots;
    c.ev.type = "closed";
    CHECK(c.fires(1, 1));
  }
  SECTION("caf-application.ini") {
    aether::config cfg;
    std::istringstream ini{"[aether.snapshot]\n"
                           "every-versions=50\n"
                           "min-events=10\n"
                           "max-events=80\n"
                           "interval=30s\n"
                           "delete-events=true\n"
                           "[aether.persist]\n"
                           "timeout=5s\n"};
    char prog[] = "prog";
    char* argv[] = {prog, nullptr};
    REQUIRE_FALSE(cfg.parse(1, argv, ini));
    auto parsed = persistence_options::from_config(cfg);
    REQUIRE(parsed);
    auto& opts = *parsed;
    CHECK(opts.snapshots.max_replay() == int64_t{80});
    CHECK(opts.snapshots.deletes_events());
    CHECK(opts.persist_timeout == std::chrono::seconds{5});
    checker c;
    c.policy = opts.snapshots;
    CHECK(c.fires(50, 10));
    CHECK_FALSE(c.fires(50, 9));
    c.at = c.last + std::chrono::seconds{30};
    CHECK(c.fires(51, 1));
  }
}

TEST_CASE("aether::config tunes CAF's scheduler; the command line overrides "
          "it") {
  auto polls = [](const caf::actor_system_config& cfg, const char* phase) {
    return caf::get_or(cfg,
                       std::string{"work-stealing."} + phase + "-poll-attempts",
                       size_t{12345});
  };
  SECTION("defaults") {
    aether::config cfg;
    test::parse_args(cfg, {});
    CHECK(polls(cfg, "aggressive") == 1000);
    CHECK(polls(cfg, "moderate") == 0);
  }
  SECTION("overridden") {
    aether::config cfg;
    test::parse_args(cfg, {"--work-stealing.aggressive-poll-attempts=100",
                           "--work-stealing.moderate-poll-attempts=500"});
    CHECK(polls(cfg, "aggressive") == 100);
    CHECK(polls(cfg, "moderate") == 500);
  }
}

TEST_CASE("options that break a rule are refused, naming the option") {
  auto parse = options_from_args;
  auto refused = [&](std::string arg, std::string option) {
    CAPTURE(arg);
    auto res = parse({arg});
    REQUIRE_FALSE(res);
    CHECK(is(res.error(), runtime_error::invalid_option));
    CHECK(describe(res.error()).find(option) != std::string::npos);
  };
  refused("--aether.recovery.batch-size=0", "aether.recovery.batch-size");
  refused("--aether.recovery.timeout=0s", "aether.recovery.timeout");
  refused("--aether.persist.timeout=0s", "aether.persist.timeout");
  refused("--aether.persist.on-unknown-outcome=retry",
          "aether.persist.on-unknown-outcome");
  CHECK(parse({"--aether.recovery.batch-size=1"}));
  persistence_options o;
  CHECK_FALSE(o.validate());
  o.recovery_batch_size = 0;
  CHECK(is(o.validate(), runtime_error::invalid_option));
}

TEST_CASE("capture_state rebuilds the state outside the actor") {
  memory_store store;
  for (int64_t v = 1; v <= 30; ++v)
    REQUIRE(store.save_event(added("acc", v, v)));
  tally at20;
  for (int64_t v = 1; v <= 20; ++v)
    at20.apply(added("acc", v, v));
  REQUIRE_FALSE(store.save_snapshot(create_snapshot("acc", 20, at20)));
  SECTION("latest: from the snapshot plus the tail") {
    auto c = capture_state<tally>(store, "acc");
    REQUIRE(c);
    CHECK(c->version == 30);
    CHECK(c->snapshot_version == int64_t{20});
    CHECK(c->events_replayed == 10);
    CHECK(c->state.sum == 465);
  }
  SECTION("up to a version below the snapshot: a full replay") {
    auto c = capture_state<tally>(store, "acc", 15);
    REQUIRE(c);
    CHECK(c->version == 15);
    CHECK_FALSE(c->snapshot_version);
    CHECK(c->state.sum == 120);
  }
  SECTION("a corrupt snapshot falls back") {
    store.corrupt_snapshot_for_testing("acc", 25, "nope");
    auto c = capture_state<tally>(store, "acc", 28);
    REQUIRE(c);
    CHECK(c->fallbacks == 1);
    CHECK(c->snapshot_version == int64_t{20});
    CHECK(c->state.sum == 406);
  }
  SECTION("an unknown actor has the initial state") {
    auto c = capture_state<tally>(store, "nobody");
    REQUIRE(c);
    CHECK(c->version == 0);
    CHECK(c->state.sum == 0);
  }
  SECTION("load gives the snapshot and only the tail") {
    auto before = store.events_read();
    auto l = load(store, "acc");
    REQUIRE(l);
    REQUIRE(l->snapshot);
    CHECK(l->snapshot->version == 20);
    CHECK(l->events.size() == 10);
    CHECK(l->events.front().version == 21);
    CHECK(store.events_read() - before == 10);
  }
}

// Shrunk counterexamples of the model-based test (test/model/).
TEST_CASE("capture_state never returns an older state when events after "
          "the snapshot are gone") {
  // persist 1, 2; delete_events_to(2); snapshot at 1; recover: the state
  // at version 1 came back as if it were the latest (version 2).
  memory_store store;
  REQUIRE(store.save_events({added("m", 1, 5), added("m", 2, 7)}));
  REQUIRE_FALSE(store.delete_events_to("m", 2));
  tally at1;
  at1.apply(added("m", 1, 5));
  REQUIRE_FALSE(store.save_snapshot(create_snapshot("m", 1, at1)));
  auto c = capture_state<tally>(store, "m");
  REQUIRE_FALSE(c);
  CHECK(is(c.error(), persistence_error::corrupt_data));
  CHECK(describe(c.error()).find("events 2 to 2 are missing")
        != std::string::npos);
  auto l = load(store, "m");
  REQUIRE_FALSE(l);
  CHECK(is(l.error(), persistence_error::corrupt_data));
}

TEST_CASE("capture_state at version 0 is the initial state, whatever was "
          "deleted") {
  // persist 1; delete_events_to(1); capture at 0 failed ("first events
  // deleted") although nothing needs to be read.
  memory_store store;
  REQUIRE(store.save_event(added("z", 1, 5)));
  REQUIRE_FALSE(store.delete_events_to("z", 1));
  auto c = capture_state<tally>(store, "z", 0);
  REQUIRE(c);
  CHECK(c->version == 0);
  CHECK(c->state == tally{});
}

namespace {

/// Five snapshots (2, 4, 6, 8, 10) over events 1..10 of "r".
void five_snapshots(memory_store& store) {
  tally t;
  for (int64_t v = 1; v <= 10; ++v) {
    auto e = added("r", v, v);
    REQUIRE(store.save_event(e));
    t.apply(e);
    if (v % 2 == 0)
      REQUIRE_FALSE(store.save_snapshot(create_snapshot("r", v, t)));
  }
}

std::vector<int64_t> snapshot_versions_of(memory_store& store) {
  std::vector<int64_t> out;
  snapshot_criteria c;
  for (;;) {
    auto s = store.get_latest_snapshot("r", c);
    int64_t v = 0;
    if (s && *s)
      v = (*s)->version;
    else if (!s)
      v = get_corrupt_snapshot_version(s.error()).value_or(0);
    if (v == 0)
      return out;
    out.push_back(v);
    c.max_version = v - 1;
  }
}

class failing_reads : public forwarding_store {
public:
  using forwarding_store::forwarding_store;
  caf::expected<std::optional<actor_snapshot>>
  get_latest_snapshot(const std::string& id, snapshot_criteria c) override {
    if (c.max_version < snapshot_criteria::latest().max_version)
      return make_persistence_error(persistence_error::unavailable, "injected");
    return forwarding_store::get_latest_snapshot(id, c);
  }
};

} // namespace

TEST_CASE("retention as a function: keep, delete events, failed reads") {
  auto store = std::make_shared<memory_store>();
  five_snapshots(*store);
  SECTION("keep the newest 3") {
    REQUIRE_FALSE(apply_retention(*store, "r", 10, 3, false));
    CHECK(snapshot_versions_of(*store) == std::vector<int64_t>{10, 8, 6});
    CHECK(store->get_events("r", 1)->size() == 10);
  }
  SECTION("keep 2 and delete the events up to the oldest kept") {
    REQUIRE_FALSE(apply_retention(*store, "r", 10, 2, true));
    CHECK(snapshot_versions_of(*store) == std::vector<int64_t>{10, 8});
    CHECK(store->get_events("r", 1)->front().version == 9);
  }
  SECTION("keep all and delete the events up to the oldest") {
    REQUIRE_FALSE(apply_retention(*store, "r", 10, 0, true));
    CHECK(snapshot_versions_of(*store).size() == 5);
    CHECK(store->get_events("r", 1)->front().version == 3);
  }
  SECTION("an undecodable snapshot counts as one") {
    store->corrupt_snapshot_for_testing("r", 8, "{garbage");
    REQUIRE_FALSE(apply_retention(*store, "r", 10, 3, false));
    CHECK(snapshot_versions_of(*store) == std::vector<int64_t>{10, 8, 6});
  }
  SECTION("a failed read deletes nothing and says why") {
    failing_reads failing{store};
    auto err = apply_retention(failing, "r", 10, 2, true);
    CHECK(is(err, persistence_error::unavailable));
    CHECK(snapshot_versions_of(*store).size() == 5);
    CHECK(store->get_events("r", 1)->size() == 10);
  }
  SECTION("nothing to do without a policy") {
    failing_reads failing{store};
    CHECK_FALSE(apply_retention(failing, "r", 10, 0, false));
  }
}
