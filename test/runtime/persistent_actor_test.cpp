#include "actor_fixture.hpp"
#include "aether/persistence/forwarding_store.hpp"
#include "aether/runtime/persistent_actor.hpp"
#include "aether/runtime/runtime_error.hpp"
#include "aether/snapshot/capture.hpp"
#include "aether/sqlite/sqlite_store.hpp"
#include "aether/testkit/failing_store.hpp"
#include "tally.hpp"
#include "temp_dir.hpp"

#include <atomic>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <thread>

using namespace aether;
using namespace aether::test;

namespace {

using stats = std::vector<int64_t>; // version, snapshot, replayed, count

persistence_options every(int64_t n) {
  persistence_options o;
  o.snapshots.every_events(n);
  return o;
}

struct fixture : actor_fixture {
  using actor_fixture::actor_fixture;

  caf::actor spawn(const std::string& id, persistence_options opts = every(0)) {
    opts.log = [this](const std::string& line) {
      log.push_back(line);
    };
    auto a = spawn_actor<tally_actor>(id, ctx, opts);
    run();
    return a;
  }

  void stop(caf::actor& a) {
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    run();
    a = nullptr;
  }

  int64_t add(const caf::actor& a, int64_t n) {
    auto res = ask<int64_t>(a, add_atom::value, n);
    REQUIRE(res);
    return *res;
  }

  stats stats_of(const caf::actor& a) {
    auto res = ask<stats>(a, stats_atom::value);
    REQUIRE(res);
    return *res;
  }

  std::vector<std::string> log;
};

} // namespace

TEST_CASE_METHOD(fixture, "persist stores, applies, then replies") {
  auto a = spawn("acc");
  CHECK(add(a, 5) == 5);
  CHECK(add(a, 7) == 12);
  auto events = memory->get_events("acc", 1);
  REQUIRE(events);
  REQUIRE(events->size() == 2);
  CHECK((*events)[0].version == 1);
  CHECK((*events)[1].version == 2);
  CHECK((*events)[1].data.at("n") == 7);
  CHECK(stats_of(a) == stats{2, 0, 0, 2});
}

namespace {

using waiting_atom = caf::atom_constant<caf::atom("waiting")>;

/// Answers with the commands waiting, as its handler sees them.
class waiting_probe : public persistent_actor<tally> {
public:
  using persistent_actor::persistent_actor;
  caf::behavior make_commands() override {
    return {[this](waiting_atom) {
      return persistence_context().metrics->read().commands_waiting;
    }};
  }
};

} // namespace

TEST_CASE_METHOD(fixture, "a command handed to the behavior no longer counts "
                          "as waiting") {
  // A command that waited for the recovery: when its handler runs (and its
  // reply may already reach the requester), it waits no more. Counted
  // after the handler, a requester could see 1 waiting after its reply (a
  // real-time test saw it under AddressSanitizer).
  auto a = spawn_actor<waiting_probe>("probe", ctx);
  auto r = post(a, waiting_atom::value);
  run();
  int64_t seen = -1;
  r.receive(
    [&](int64_t x) {
      seen = x;
    },
    [](caf::error&) {});
  CHECK(seen == 0);
  CHECK(ctx.metrics->read().commands_waiting == 0);
}

TEST_CASE_METHOD(fixture, "commands sent during recovery wait, in order") {
  for (int64_t v = 1; v <= 50; ++v)
    REQUIRE(memory->save_event(
      make_event("added", "acc", v, boost::json::object{{"n", 1}})));
  persistence_options opts = every(0);
  opts.recovery_batch_size = 7; // several recovery steps
  auto a = spawn_actor<tally_actor>("acc", ctx, opts);
  // Nothing has run yet: the actor is recovering when these arrive.
  auto r1 = post(a, add_atom::value, int64_t{100});
  auto r2 = post(a, get_atom::value);
  auto r3 = post(a, add_atom::value, int64_t{1000});
  auto r4 = post(a, seen_atom::value);
  run();
  int64_t x1 = 0, x2 = 0, x3 = 0;
  std::vector<int64_t> seen;
  r1.receive(
    [&](int64_t x) {
      x1 = x;
    },
    [](caf::error&) {});
  r2.receive(
    [&](int64_t x) {
      x2 = x;
    },
    [](caf::error&) {});
  r3.receive(
    [&](int64_t x) {
      x3 = x;
    },
    [](caf::error&) {});
  r4.receive(
    [&](std::vector<int64_t>& x) {
      seen = x;
    },
    [](caf::error&) {});
  CHECK(x1 == 150);
  CHECK(x2 == 150);
  CHECK(x3 == 1150);
  REQUIRE(seen.size() >= 2);
  CHECK(seen[seen.size() - 2] == 100);
  CHECK(seen.back() == 1000);
}

namespace {

/// The versions of every snapshot of `id`, newest first.
std::vector<int64_t> snapshot_versions(event_store_with_snapshots& store,
                                       const std::string& id) {
  std::vector<int64_t> result;
  snapshot_criteria c;
  for (;;) {
    auto s = store.get_latest_snapshot(id, c);
    REQUIRE(s);
    if (!*s)
      return result;
    result.push_back((*s)->version);
    c.max_version = (*s)->version - 1;
  }
}

/// The state a full replay of every stored event gives.
tally full_replay(event_store& store, const std::string& id) {
  tally t;
  auto n = replay_events(store, id, 1, INT64_MAX, 10000, [&](const event& e) {
    t.apply(e);
  });
  REQUIRE(n);
  return t;
}

} // namespace

TEST_CASE_METHOD(fixture, "commands sent during a persist wait, in order") {
  auto a = spawn("acc");
  auto r1 = post(a, add_atom::value, int64_t{1});
  auto r2 = post(a, add_atom::value, int64_t{2});
  auto r3 = post(a, get_atom::value);
  auto r4 = post(a, add_atom::value, int64_t{3});
  run();
  std::vector<int64_t> replies;
  for (auto* r : {&r1, &r2, &r3, &r4})
    r->receive(
      [&](int64_t x) {
        replies.push_back(x);
      },
      [](caf::error&) {
        FAIL("unexpected error");
      });
  CHECK(replies == std::vector<int64_t>{1, 3, 3, 6});
  auto seen = ask<std::vector<int64_t>>(a, seen_atom::value);
  REQUIRE(seen);
  CHECK(*seen == std::vector<int64_t>{1, 2, 3});
  CHECK(ctx.metrics->read().commands_waiting == 0);
}

TEST_CASE_METHOD(fixture, "a deep mailbox is worked off in order") {
  // Through a decorator the memory store's appends go to an I/O worker, so
  // commands pile up while each persist is in flight.
  ctx = store_context::make(sys, std::make_shared<forwarding_store>(memory),
                            store_io::options{2, false});
  auto a = spawn("deep");
  std::vector<decltype(post(a, add_atom::value, int64_t{1}))> replies;
  for (int64_t i = 1; i <= 20000; ++i)
    replies.push_back(post(a, add_atom::value, i));
  // The first command starts a persist, the rest are held back.
  int64_t most_waiting = 0;
  while (sched.try_run_once())
    most_waiting = std::max(most_waiting, ctx.metrics->read().commands_waiting);
  CHECK(most_waiting == 19999);
  CHECK(ctx.metrics->read().commands_waiting == 0);
  int64_t expected = 0;
  int64_t mismatches = 0;
  for (int64_t i = 1; i <= 20000; ++i) {
    expected += i;
    replies[static_cast<size_t>(i - 1)].receive(
      [&](int64_t x) {
        mismatches += x != expected;
      },
      [&](caf::error&) {
        ++mismatches;
      });
  }
  CHECK(mismatches == 0);
  CHECK(memory->get_latest_version("deep") == int64_t{20000});
}

TEST_CASE("an append that completes at once finishes inline (real "
          "threads)") {
  // The memory store completes an append before `append` returns: the
  // persist finishes within its command, without a message round trip, so
  // commands are never held back. (With a round trip, the completion would
  // queue behind the 1,000 commands, and they would all wait in the stash.)
  auto memory = std::make_shared<memory_store>();
  aether::config cfg;
  caf::actor_system sys{cfg};
  auto ctx = store_context::make(sys, memory); // detached I/O workers
  persistence_options o;
  o.log = [](const std::string&) {};
  auto a = sys.spawn<tally_actor>("inline", ctx, o);
  caf::scoped_actor self{sys};
  self->request(a, std::chrono::seconds{30}, stats_atom::value)
    .receive([](const stats&) {},
             [](caf::error& err) {
               FAIL(describe(err));
             });
  std::atomic<bool> sending{true};
  std::atomic<int64_t> most_waiting{0};
  std::thread sampler{[&] {
    while (sending)
      most_waiting = std::max(most_waiting.load(),
                              ctx.metrics->read().commands_waiting);
  }};
  for (int64_t i = 1; i <= 1000; ++i)
    self->send(a, add_atom::value, i);
  int64_t last = 0;
  self->request(a, std::chrono::seconds{30}, get_atom::value)
    .receive(
      [&](int64_t x) {
        last = x;
      },
      [](caf::error& err) {
        FAIL(describe(err));
      });
  sending = false;
  sampler.join();
  CHECK(last == 500500);
  CHECK(most_waiting == 0);
  CHECK(memory->get_latest_version("inline") == int64_t{1000});
  self->send_exit(a, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(fixture, "a long-lived actor replays at most one interval") {
  auto a = spawn("long", every(1000));
  // 100,002 events in batches of 7: batches cross the snapshot boundaries.
  std::vector<int64_t> batch;
  for (int64_t i = 1; i <= 7; ++i)
    batch.push_back(i);
  int64_t expected_sum = 0;
  for (int i = 0; i < 14286; ++i) {
    auto res = ask<int64_t>(a, add_many_atom::value, batch);
    REQUIRE(res);
    expected_sum += 28;
    if (*res != expected_sum)
      REQUIRE(*res == expected_sum);
  }
  CHECK(stats_of(a)[0] == 100002);
  stop(a);
  auto b = spawn("long", every(1000));
  auto s = stats_of(b);
  CHECK(s[0] == 100002); // version
  CHECK(s[1] == 100000); // recovered from the snapshot at 100,000
  CHECK(s[2] <= 1000);   // replayed
  CHECK(s[2] == 2);
  auto sum = ask<int64_t>(b, get_atom::value);
  REQUIRE(sum);
  auto replayed = full_replay(*memory, "long");
  CHECK(*sum == replayed.sum);
  CHECK(s[3] == replayed.count);
  auto seen = ask<std::vector<int64_t>>(b, seen_atom::value);
  REQUIRE(seen);
  CHECK(*seen == replayed.seen);
}

TEST_CASE_METHOD(fixture, "snapshot boundaries") {
  auto restart_stats = [&](int events) {
    auto id = "b" + std::to_string(events);
    auto a = spawn(id, every(5));
    for (int i = 0; i < events; ++i)
      add(a, 1);
    stop(a);
    auto b = spawn(id, every(5));
    return stats_of(b);
  };
  SECTION("snapshot exactly at the last event: nothing replayed") {
    CHECK(restart_stats(5) == stats{5, 5, 0, 5});
  }
  SECTION("one before the next snapshot") {
    CHECK(restart_stats(9) == stats{9, 5, 4, 9});
  }
  SECTION("one after a snapshot") {
    CHECK(restart_stats(6) == stats{6, 5, 1, 6});
  }
  SECTION("no snapshot yet") {
    CHECK(restart_stats(4) == stats{4, 0, 4, 4});
  }
}

TEST_CASE_METHOD(fixture, "persist_all across a snapshot boundary") {
  auto a = spawn("acc", every(5));
  auto res = ask<int64_t>(a, add_many_atom::value,
                          std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7});
  REQUIRE(res);
  CHECK(*res == 28);
  // The snapshot holds the state at exactly version 5.
  auto snap = memory->get_latest_snapshot("acc");
  REQUIRE(snap);
  REQUIRE(*snap);
  CHECK((*snap)->version == 5);
  CHECK((*snap)->state.at("sum") == 15);
  CHECK((*snap)->state.at("count") == 5);
  // All seven events were stored as one batch.
  CHECK(memory->get_latest_version("acc") == int64_t{7});
}

TEST_CASE_METHOD(fixture, "hybrid policy: min and max bounds") {
  SECTION("not sooner than min events after the last snapshot") {
    persistence_options o = every(0);
    o.snapshots.every_versions(10, 4, 0);
    auto a = spawn("h", o);
    for (int i = 0; i < 8; ++i)
      add(a, 1);
    REQUIRE(ask<int64_t>(a, snap_atom::value) == int64_t{8}); // manual
    for (int i = 0; i < 12; ++i)
      add(a, 1);
    run();
    // 10 was only 2 events after 8; 20 was 12 after.
    CHECK(snapshot_versions(*memory, "h") == std::vector<int64_t>{20, 8});
  }
  SECTION("always once max events are reached") {
    persistence_options o = every(0);
    o.snapshots.every_versions(100, 1, 15);
    auto a = spawn("h", o);
    for (int i = 0; i < 35; ++i)
      add(a, 1);
    run();
    CHECK(snapshot_versions(*memory, "h") == std::vector<int64_t>{30, 15});
  }
}

TEST_CASE_METHOD(fixture, "retention keeps exactly K snapshots") {
  persistence_options o = every(2);
  o.snapshots.keep_newest(3);
  auto a = spawn("r", o);
  for (int i = 0; i < 20; ++i)
    add(a, 1);
  run();
  CHECK(snapshot_versions(*memory, "r") == std::vector<int64_t>{20, 18, 16});
  CHECK(memory->get_events("r", 1)->size() == 20); // events kept by default
}

TEST_CASE_METHOD(fixture, "deleting events up to the oldest kept snapshot") {
  persistence_options o = every(5);
  o.snapshots.keep_newest(2).delete_events();
  auto a = spawn("d", o);
  for (int i = 0; i < 22; ++i)
    add(a, 1);
  run();
  CHECK(snapshot_versions(*memory, "d") == std::vector<int64_t>{20, 15});
  auto events = memory->get_events("d", 1);
  REQUIRE(events);
  REQUIRE_FALSE(events->empty());
  CHECK(events->front().version == 16);
  stop(a);
  // Recovery still works, also from the older kept snapshot.
  memory->corrupt_snapshot_for_testing("d", 20, "garbage");
  auto b = spawn("d", every(0));
  CHECK(stats_of(b) == stats{22, 15, 7, 22});
}

TEST_CASE_METHOD(fixture, "event-type and predicate triggers") {
  SECTION("event type") {
    persistence_options o = every(0);
    o.snapshots.on_event_types({"closed"});
    auto a = spawn("t", o);
    add(a, 1);
    add(a, 1);
    CHECK(snapshot_versions(*memory, "t").empty());
    REQUIRE(ask<int64_t>(a, close_atom::value) == int64_t{3});
    run();
    CHECK(snapshot_versions(*memory, "t") == std::vector<int64_t>{3});
  }
  SECTION("predicate over state, event and version") {
    persistence_options o = every(0);
    o.snapshots.when<tally>([](const tally& s, const event&, int64_t) {
      return s.sum >= 100;
    });
    auto a = spawn("p", o);
    add(a, 60);
    CHECK(snapshot_versions(*memory, "p").empty());
    add(a, 50);
    run();
    CHECK(snapshot_versions(*memory, "p") == std::vector<int64_t>{2});
  }
}

TEST_CASE_METHOD(fixture, "a snapshot right after a long recovery") {
  for (int64_t v = 1; v <= 50; ++v)
    REQUIRE(memory->save_event(
      make_event("added", "late", v, boost::json::object{{"n", 2}})));
  auto a = spawn("late", every(10));
  CHECK(stats_of(a) == stats{50, 0, 50, 50});
  run();
  CHECK(snapshot_versions(*memory, "late") == std::vector<int64_t>{50});
  SECTION("but not after a short one") {
    stop(a);
    REQUIRE(memory->save_event(
      make_event("added", "late", 51, boost::json::object{{"n", 2}})));
    auto b = spawn("late", every(10));
    CHECK(stats_of(b) == stats{51, 50, 1, 51});
    run();
    CHECK(snapshot_versions(*memory, "late") == std::vector<int64_t>{50});
  }
}

TEST_CASE_METHOD(fixture, "a corrupt latest snapshot falls back") {
  auto a = spawn("c", every(4));
  for (int i = 1; i <= 10; ++i)
    add(a, i);
  stop(a);
  REQUIRE(snapshot_versions(*memory, "c") == std::vector<int64_t>{8, 4});
  SECTION("undecodable JSON") {
    memory->corrupt_snapshot_for_testing("c", 8, "{truncated");
    auto b = spawn("c", every(0));
    CHECK(stats_of(b) == stats{10, 4, 6, 10});
    CHECK(ask<int64_t>(b, get_atom::value) == int64_t{55});
    CHECK(ctx.metrics->read().snapshot_fallbacks == 1);
    REQUIRE(log.size() == 1);
    CHECK(log[0].find("snapshot fallback") != std::string::npos);
  }
  SECTION("JSON the state cannot decode, then a full replay") {
    actor_snapshot wrong;
    wrong.actor_id = "c";
    wrong.version = 8;
    wrong.state = boost::json::object{{"unexpected", true}};
    REQUIRE_FALSE(memory->save_snapshot(wrong));
    memory->corrupt_snapshot_for_testing("c", 4, "garbage");
    auto b = spawn("c", every(0));
    CHECK(stats_of(b) == stats{10, 0, 10, 10});
    CHECK(ask<int64_t>(b, get_atom::value) == int64_t{55});
    CHECK(ctx.metrics->read().snapshot_fallbacks == 2);
  }
  SECTION("no usable snapshot and deleted events: a clear failure") {
    memory->corrupt_snapshot_for_testing("c", 8, "garbage");
    memory->corrupt_snapshot_for_testing("c", 4, "garbage");
    REQUIRE_FALSE(memory->delete_events_to("c", 3));
    auto b = spawn("c", every(0));
    auto res = ask<int64_t>(b, get_atom::value);
    REQUIRE_FALSE(res);
    CHECK(ctx.metrics->read().recovery_failures == 1);
    REQUIRE_FALSE(log.empty());
    CHECK(log.back().find("first events were deleted") != std::string::npos);
  }
}

TEST_CASE_METHOD(fixture, "a rejected event fails the command only") {
  auto a = spawn("v");
  add(a, 1);
  auto res = ask<int64_t>(a, bad_atom::value);
  REQUIRE_FALSE(res);
  CHECK(is(res.error(), persistence_error::invalid_argument));
  CHECK(describe(res.error()).find("type") != std::string::npos);
  CHECK(add(a, 2) == 3);
  CHECK(memory->get_latest_version("v") == int64_t{2});
}

TEST_CASE("store failures with an unknown outcome") {
  auto faulty = std::make_shared<testkit::failing_store>(
    std::make_shared<memory_store>());
  fixture f;
  f.ctx.store = faulty;
  SECTION("stop the actor by default") {
    auto a = f.spawn("u");
    f.add(a, 1);
    faulty->set(testkit::store_operation::append,
                testkit::failure_policy::unknown_outcome(
                  false,
                  make_persistence_error(persistence_error::unknown_outcome,
                                         "connection lost after sending"))
                  .times(1));
    auto failing = f.post(a, add_atom::value, int64_t{2});
    auto waiting = f.post(a, get_atom::value); // held back behind the persist
    f.run();
    caf::error e1, e2;
    failing.receive([](int64_t) {},
                    [&](caf::error& e) {
                      e1 = e;
                    });
    waiting.receive([](int64_t) {},
                    [&](caf::error& e) {
                      e2 = e;
                    });
    CHECK(is(e1, persistence_error::unknown_outcome));
    INFO(describe(e2));
    CHECK(is(e2, persistence_error::unknown_outcome)); // the stop reason
    auto after = f.ask<int64_t>(a, get_atom::value);
    REQUIRE_FALSE(after); // the actor is gone
    CHECK(f.ctx.metrics->read().commands_waiting == 0);
  }
  SECTION("restart with backoff and re-recover, if configured") {
    persistence_options o = every(0);
    o.on_unknown_outcome = failure_mode::restart;
    o.restart_backoff = std::chrono::milliseconds{100};
    auto a = f.spawn("u", o);
    f.add(a, 1);
    // The write lands although the store reports an unknown outcome.
    faulty->set(testkit::store_operation::append,
                testkit::failure_policy::unknown_outcome(true).times(1));
    auto res = f.ask<int64_t>(a, add_atom::value, int64_t{2});
    REQUIRE_FALSE(res);
    // Commands wait while the actor backs off ...
    auto pending = f.post(a, get_atom::value);
    f.run();
    // ... and run after it re-recovered, seeing the landed event.
    f.advance(std::chrono::milliseconds{100});
    int64_t sum = -1;
    pending.receive(
      [&](int64_t x) {
        sum = x;
      },
      [](caf::error&) {});
    CHECK(sum == 3);
    CHECK(f.add(a, 4) == 7);
    CHECK(f.ctx.metrics->read().recoveries == 2);
  }
}

TEST_CASE_METHOD(fixture, "a recovery without progress fails") {
  // Through a decorator, so that recovery goes to an I/O worker (which the
  // test then never runs).
  ctx = store_context::make(sys, std::make_shared<forwarding_store>(memory),
                            store_io::options{2, false});
  persistence_options o = every(0);
  o.recovery_timeout = std::chrono::seconds{5};
  o.log = [this](const std::string& line) {
    log.push_back(line);
  };
  auto a = spawn_actor<tally_actor>("slow", ctx, o);
  sched.prioritize(a);
  sched.run_once(); // the actor starts and asks its I/O worker
  sched.clock().advance_time(std::chrono::seconds{6});
  run();
  auto res = ask<int64_t>(a, get_atom::value);
  REQUIRE_FALSE(res);
  REQUIRE_FALSE(log.empty());
  CHECK(log.back().find("made no progress") != std::string::npos);
}

TEST_CASE_METHOD(fixture, "command id and metadata reach the events") {
  auto a = spawn("m");
  command_context cmd;
  cmd.command_id = "cmd-42";
  cmd.correlation_id("corr-1").causation_id("cause-1");
  REQUIRE(ask<int64_t>(a, add_atom::value, cmd, int64_t{5}) == int64_t{5});
  auto events = memory->get_events("m", 1);
  REQUIRE(events);
  REQUIRE(events->size() == 1);
  CHECK(events->front().command_id == "cmd-42");
  CHECK(events->front().correlation_id() == "corr-1");
  CHECK(events->front().causation_id() == "cause-1");
}

TEST_CASE_METHOD(fixture, "metrics after a scripted scenario") {
  auto a = spawn("x", every(3));
  for (int i = 0; i < 7; ++i)
    add(a, 1); // snapshots at 3 and 6
  stop(a);
  auto b = spawn("x", every(3)); // recovers from 6, replays 1
  add(b, 1);                     // version 8
  // A second writer moves the actor to version 9 behind b's back.
  REQUIRE(memory->save_event(
    make_event("added", "x", 9, boost::json::object{{"n", 1}})));
  auto conflict = ask<int64_t>(b, add_atom::value, int64_t{1});
  REQUIRE_FALSE(conflict);
  CHECK(is(conflict.error(), persistence_error::version_conflict));
  CHECK(add(b, 1) == 10); // re-recovered from the snapshot at 9
  run();
  auto m = ctx.metrics->read();
  CHECK(m.snapshots_saved == 3); // at 3, 6, 9 (the conflict's recovery
                                 // replayed 3 = the limit, no extra one)
  CHECK(m.snapshot_failures == 0);
  CHECK(m.snapshot_fallbacks == 0);
  CHECK(m.recoveries == 3);
  CHECK(m.events_replayed == 0 + 1 + 3);
  CHECK(m.average_replay() == Approx(4.0 / 3));
  CHECK(m.events_persisted == 9);
  CHECK(m.persist_failures == 1);
  CHECK(m.version_conflicts == 1);
  CHECK(m.recovery_duration.count == 3);
  CHECK(m.persist_latency.count == 9);
  auto text = ctx.metrics->to_prometheus();
  CHECK(text.find("aether_snapshots_saved_total 3\n") != std::string::npos);
  CHECK(text.find("aether_version_conflicts_total 1\n") != std::string::npos);
  CHECK(text.find("aether_persist_latency_seconds_count 9\n")
        != std::string::npos);
}

TEST_CASE_METHOD(fixture, "a failed snapshot save is counted, not fatal") {
  auto faulty = std::make_shared<testkit::failing_store>(memory);
  ctx.store = faulty;
  faulty->set(testkit::store_operation::save_snapshot,
              testkit::failure_policy::fail().times(1));
  auto a = spawn("f", every(2));
  for (int i = 0; i < 4; ++i)
    add(a, 1);
  run();
  auto m = ctx.metrics->read();
  CHECK(m.snapshot_failures == 1);
  CHECK(m.snapshots_saved == 1);
  CHECK(snapshot_versions(*memory, "f") == std::vector<int64_t>{4});
  CHECK(add(a, 1) == 5);
}

TEST_CASE("two actors with one id on two stores sharing one SQLite file") {
  temp_dir dir;
  auto path = dir.file("shared.db");
  auto s1 = sqlite_store::open(path);
  auto s2 = sqlite_store::open(path);
  REQUIRE(s1);
  REQUIRE(s2);
  std::shared_ptr<event_store_with_snapshots> store1 = std::move(*s1);
  std::shared_ptr<event_store_with_snapshots> store2 = std::move(*s2);
  fixture f1{store1};
  fixture f2{store2};
  auto a = f1.spawn("acc");
  CHECK(f1.add(a, 1) == 1);
  auto b = f2.spawn("acc");   // recovers version 1
  CHECK(f1.add(a, 10) == 11); // a writes version 2
  auto res = f2.ask<int64_t>(b, add_atom::value, int64_t{100});
  REQUIRE_FALSE(res); // b also tried version 2
  auto info = get_version_conflict(res.error());
  REQUIRE(info);
  CHECK(info->attempted_version == 2);
  CHECK(info->current_version == 2);
  CHECK(f2.add(b, 100) == 111); // b re-recovered: version 3
  auto events = store1->get_events("acc", 1);
  REQUIRE(events);
  REQUIRE(events->size() == 3);
  for (int64_t i = 0; i < 3; ++i)
    CHECK((*events)[static_cast<size_t>(i)].version == i + 1);
  CHECK((*events)[2].data.at("n") == 100);
}

TEST_CASE_METHOD(fixture, "an invalid actor id stops the actor clearly") {
  auto a = spawn_actor<tally_actor>("has space", ctx, every(0));
  self->monitor(a);
  run();
  caf::error reason;
  self->receive([&](caf::down_msg& d) {
    reason = d.reason;
  });
  CHECK(is(reason, persistence_error::invalid_argument));
  CHECK(describe(reason).find("actor_id") != std::string::npos);
}

TEST_CASE("actors on SQLite persist through the store's writer thread (real "
          "threads)") {
  temp_dir dir;
  auto s = sqlite_store::open(dir.file("writer.db"));
  REQUIRE(s);
  std::shared_ptr<sqlite_store> store = std::move(*s);
  {
    aether::config cfg;
    caf::actor_system sys{cfg};
    auto ctx = store_context::make(sys, store); // detached I/O workers
    persistence_options o;
    o.log = [](const std::string&) {};
    std::vector<caf::actor> actors;
    for (int i = 0; i < 20; ++i)
      actors.push_back(
        sys.spawn<tally_actor>("w-" + std::to_string(i), ctx, o));
    caf::scoped_actor self{sys};
    for (int64_t round = 1; round <= 10; ++round) {
      // One request to every actor at once: their appends meet in the
      // writer's queue.
      std::vector<caf::response_handle<caf::blocking_actor, caf::message, true>>
        pending;
      for (auto& a : actors)
        pending.push_back(
          self->request(a, std::chrono::seconds{30}, add_atom::value, round));
      for (auto& p : pending)
        p.receive(
          [&](int64_t sum) {
            CHECK(sum == round * (round + 1) / 2);
          },
          [&](caf::error& err) {
            FAIL(describe(err));
          });
    }
    for (auto& a : actors)
      self->send_exit(a, caf::exit_reason::user_shutdown);
  }
  for (int i = 0; i < 20; ++i) {
    auto events = store->get_events("w-" + std::to_string(i), 1);
    REQUIRE(events);
    REQUIRE(events->size() == 10);
    for (size_t v = 0; v < 10; ++v)
      CHECK((*events)[v].version == static_cast<int64_t>(v + 1));
  }
  // Every append went through the writer, each exactly once.
  CHECK(store->stats().appends == 200);
}

namespace {

/// Sets its own snapshot policy in `make_commands` when its id starts with
/// "snap-": the policy of one actor must not reach the others spawned with
/// the same options (they share one copy until one changes it).
class policy_actor : public tally_actor {
public:
  using tally_actor::tally_actor;

  caf::behavior make_commands() override {
    if (persistence_id().rfind("snap-", 0) == 0)
      snapshots().every_events(2);
    return tally_actor::make_commands();
  }
};

const persistent_actor_base& base_of(const caf::actor& a) {
  auto* ptr = caf::actor_cast<caf::abstract_actor*>(a);
  auto* base = dynamic_cast<persistent_actor_base*>(ptr);
  REQUIRE(base != nullptr);
  return *base;
}

} // namespace

TEST_CASE_METHOD(fixture, "actors spawned with equal options share them; a "
                          "policy set by one stays its own") {
  persistence_options opts;
  opts.recovery_batch_size = 7;
  auto a = spawn_actor<policy_actor>("snap-a", ctx, opts);
  auto b = spawn_actor<policy_actor>("plain-b", ctx, opts);
  auto c = spawn_actor<policy_actor>("plain-c", ctx, opts);
  auto d = spawn_actor<policy_actor>("snap-d", ctx, opts);
  run();
  // b and c share one copy (and one context); a and d made their own when
  // they set their policy, and share that one (equal policies).
  CHECK(&base_of(b).options() == &base_of(c).options());
  CHECK(&base_of(b).persistence_context() == &base_of(c).persistence_context());
  CHECK(&base_of(a).options() != &base_of(b).options());
  CHECK(&base_of(a).options() == &base_of(d).options());
  CHECK(base_of(a).options().snapshots.enabled());
  CHECK(base_of(a).options().recovery_batch_size == 7);
  CHECK_FALSE(base_of(b).options().snapshots.enabled());
  CHECK_FALSE(base_of(c).options().snapshots.enabled());
  for (auto* x : {&a, &b}) {
    add(*x, 1);
    add(*x, 2);
  }
  run();
  auto snap_a = memory->get_latest_snapshot("snap-a");
  auto snap_b = memory->get_latest_snapshot("plain-b");
  REQUIRE(snap_a);
  REQUIRE(snap_b);
  CHECK(*snap_a);
  CHECK_FALSE(*snap_b);
  // Different options, or options with a function, are not shared.
  persistence_options other = opts;
  other.recovery_batch_size = 8;
  auto e = spawn_actor<policy_actor>("plain-e", ctx, other);
  persistence_options logged = opts;
  logged.log = [](const std::string&) {};
  auto f = spawn_actor<policy_actor>("plain-f", ctx, logged);
  auto g = spawn_actor<policy_actor>("plain-g", ctx, logged);
  run();
  CHECK(&base_of(e).options() != &base_of(b).options());
  CHECK(base_of(e).options().recovery_batch_size == 8);
  CHECK(&base_of(f).options() != &base_of(g).options());
  CHECK(base_of(f).options().log);
  // A `when` rule is a function too; another bus namespace is another
  // context.
  persistence_options ruled = opts;
  ruled.snapshots.when_check([](const snapshot_check&) {
    return false;
  });
  auto h = spawn_actor<policy_actor>("plain-h", ctx, ruled);
  auto i = spawn_actor<policy_actor>("plain-i", ctx, ruled);
  auto other_ctx = ctx;
  other_ctx.bus_namespace = "elsewhere";
  auto j = spawn_actor<policy_actor>("plain-j", other_ctx, opts);
  run();
  CHECK(&base_of(h).options() != &base_of(i).options());
  CHECK(&base_of(j).persistence_context() != &base_of(c).persistence_context());
  CHECK(base_of(j).persistence_context().bus_namespace == "elsewhere");
  // One sharer stopping leaves the others as they were.
  stop(b);
  CHECK(add(c, 5) == 5);
  CHECK_FALSE(base_of(c).options().snapshots.enabled());
  CHECK(base_of(c).options().recovery_batch_size == 7);
}
