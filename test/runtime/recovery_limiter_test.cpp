// The recovery limiter on its own (no actors), then actors recovering under
// it: step by step on CAF's test_coordinator, and a storm of actors on
// SQLite in real time.

#include "actor_fixture.hpp"
#include "aether/runtime/recovery_limiter.hpp"
#include "aether/sqlite/sqlite_store.hpp"
#include "eventually.hpp"
#include "parse_args.hpp"
#include "tally.hpp"
#include "temp_dir.hpp"

#include <algorithm>
#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <vector>

using namespace aether;
using namespace aether::test;

namespace {

/// Records the order in which waiting ids were granted a slot.
struct grants {
  std::vector<uint64_t> order;
  recovery_limiter::grant_fn for_id(uint64_t id, bool alive = true) {
    return [this, id, alive] {
      order.push_back(id);
      return alive;
    };
  }
};

} // namespace

TEST_CASE("recovery limiter: slots, a queue in order, releases") {
  recovery_limiter lim{2};
  grants g;
  CHECK(lim.acquire(1, g.for_id(1)));
  CHECK(lim.acquire(2, g.for_id(2)));
  CHECK_FALSE(lim.acquire(3, g.for_id(3)));
  CHECK_FALSE(lim.acquire(4, g.for_id(4)));
  CHECK_FALSE(lim.acquire(5, g.for_id(5)));
  CHECK(lim.running() == 2);
  CHECK(lim.waiting() == 3);
  CHECK(g.order.empty());
  // Asking again while holding a slot takes no second one.
  CHECK(lim.acquire(1, g.for_id(1)));
  CHECK(lim.running() == 2);
  lim.release(1);
  CHECK(g.order == std::vector<uint64_t>{3});
  // A waiting id that leaves the queue is never granted.
  lim.release(4);
  CHECK(lim.waiting() == 1);
  lim.release(2);
  CHECK(g.order == std::vector<uint64_t>{3, 5});
  CHECK(lim.running() == 2);
  CHECK(lim.waiting() == 0);
  // Releasing what is not held is a no-op.
  lim.release(42);
  CHECK(lim.running() == 2);
  // A newcomer does not overtake the queue.
  lim.release(3);
  CHECK(lim.running() == 1);
  CHECK(lim.acquire(6, g.for_id(6)));
  CHECK_FALSE(lim.acquire(7, g.for_id(7)));
  CHECK_FALSE(lim.acquire(8, g.for_id(8)));
  CHECK(lim.running() == 2);
  // A higher limit admits the waiting ones at once, a lower one admits
  // nobody until enough finished.
  lim.set_limit(3);
  CHECK(g.order == std::vector<uint64_t>{3, 5, 7});
  lim.set_limit(1);
  lim.release(5);
  lim.release(6);
  CHECK(lim.running() == 1);
  CHECK(lim.waiting() == 1);
  lim.release(7);
  CHECK(g.order == std::vector<uint64_t>{3, 5, 7, 8});
}

TEST_CASE("recovery limiter: a slot granted to a gone actor goes on") {
  recovery_limiter lim{1};
  grants g;
  CHECK(lim.acquire(1, g.for_id(1)));
  CHECK_FALSE(lim.acquire(2, g.for_id(2, false))); // gone when granted
  CHECK_FALSE(lim.acquire(3, g.for_id(3)));
  lim.release(1);
  CHECK(g.order == std::vector<uint64_t>{2, 3});
  CHECK(lim.running() == 1);
  CHECK(lim.waiting() == 0);
}

TEST_CASE("recovery limiter: 0 is no limit") {
  recovery_limiter lim{0};
  grants g;
  for (uint64_t i = 1; i <= 1000; ++i)
    CHECK(lim.acquire(i, g.for_id(i)));
  CHECK(lim.running() == 1000);
}

namespace {

struct fixture : actor_fixture {
  /// Spawns `n` tally actors p0..p(n-1), each with 3 stored events.
  std::vector<caf::actor> spawn_with_history(size_t n) {
    std::vector<caf::actor> xs;
    for (size_t i = 0; i < n; ++i) {
      auto id = "p" + std::to_string(i);
      std::vector<event> evs;
      for (int64_t v = 1; v <= 3; ++v) {
        event e;
        e.id = id + "-" + std::to_string(v);
        e.type = "added";
        e.actor_id = id;
        e.version = v;
        e.data = boost::json::object{{"n", v}};
        e.time = aether::now();
        evs.push_back(std::move(e));
      }
      REQUIRE(memory->save_events(std::move(evs)));
      xs.push_back(spawn_actor<tally_actor>(id, ctx));
    }
    return xs;
  }
};

} // namespace

TEST_CASE_METHOD(fixture, "recovery limiter: at most N actors recover at "
                          "once, the others wait with their commands") {
  ctx.recoveries->set_limit(2);
  auto xs = spawn_with_history(6);
  // A command for every actor, sent before any recovered.
  std::vector<decltype(post(xs[0], get_atom::value))> asks;
  for (auto& x : xs)
    asks.push_back(post(x, get_atom::value));
  size_t most_running = 0;
  size_t most_waiting = 0;
  while (sched.try_run_once()) {
    most_running = std::max(most_running, ctx.recoveries->running());
    most_waiting = std::max(most_waiting, ctx.recoveries->waiting());
  }
  CHECK(most_running == 2);
  CHECK(most_waiting == 4);
  CHECK(ctx.recoveries->running() == 0);
  CHECK(ctx.recoveries->waiting() == 0);
  for (auto& hdl : asks) {
    bool got = false;
    hdl.receive(
      [&](int64_t sum) {
        CHECK(sum == 6);
        got = true;
      },
      [&](caf::error& err) {
        FAIL(sys.render(err));
      });
    CHECK(got);
  }
  auto text = ctx.prometheus();
  CHECK(text.find("aether_recovery_limit 2\n") != std::string::npos);
  CHECK(text.find("aether_recoveries_waiting 0\n") != std::string::npos);
}

TEST_CASE_METHOD(fixture, "recovery limiter: an actor that stops while it "
                          "waits gives its place up") {
  ctx.recoveries->set_limit(1);
  auto xs = spawn_with_history(3);
  while (ctx.recoveries->waiting() < 2 && sched.try_run_once())
    ; // until p1 and p2 wait behind p0
  REQUIRE(ctx.recoveries->waiting() == 2);
  caf::anon_send_exit(xs[1], caf::exit_reason::user_shutdown);
  run();
  CHECK(ctx.recoveries->running() == 0);
  CHECK(ctx.recoveries->waiting() == 0);
  CHECK(ask<int64_t>(xs[2], get_atom::value) == 6);
}

TEST_CASE("recovery limiter: a storm of actors on SQLite recovers without "
          "timeouts") {
  // 10,000 actors with history, spawned at once, each with a command; a
  // recovery step may take 500 ms at most. Unbounded (max-concurrent=0),
  // every actor's first read queues in the I/O workers' mailboxes at once
  // while its timer runs: about 1,000 of them timed out here. Bounded, a
  // timer starts only with the actor's slot.
  temp_dir dir;
  auto opened = sqlite_store::open((dir.path() / "storm.db").string());
  REQUIRE(opened);
  std::shared_ptr<sqlite_store> store = std::move(*opened);
  constexpr int actors = 10000;
  {
    std::vector<event> all;
    for (int i = 0; i < actors; ++i)
      for (int64_t v = 1; v <= 5; ++v) {
        event e;
        e.id = "e" + std::to_string(i) + "-" + std::to_string(v);
        e.type = "added";
        e.actor_id = "s" + std::to_string(i);
        e.version = v;
        e.data = boost::json::object{{"n", 1}};
        e.time = aether::now();
        all.push_back(std::move(e));
        if (v == 5) {
          REQUIRE(store->save_events(std::move(all)));
          all.clear();
        }
      }
  }
  aether::config cfg;
  parse_args(cfg, {"--aether.recovery.max-concurrent=40"});
  caf::actor_system sys{cfg};
  auto ctx = store_context::make(sys, store, store_io::options{4, true});
  CHECK(ctx.recoveries->limit() == 40);
  persistence_options o;
  o.recovery_timeout = std::chrono::milliseconds{500};
  std::vector<caf::actor> xs;
  for (int i = 0; i < actors; ++i)
    xs.push_back(sys.spawn<tally_actor>("s" + std::to_string(i), ctx, o));
  caf::scoped_actor self{sys};
  int ok = 0;
  for (auto& x : xs)
    self->request(x, caf::infinite, get_atom::value)
      .receive(
        [&](int64_t sum) {
          ok += sum == 5 ? 1 : 0;
        },
        [&](caf::error& err) {
          FAIL(sys.render(err));
        });
  CHECK(ok == actors);
  CHECK(ctx.metrics->read().recovery_failures == 0);
  for (auto& x : xs)
    self->send_exit(x, caf::exit_reason::user_shutdown);
  for (auto& x : xs)
    self->wait_for(x);
  CHECK(ctx.recoveries->running() == 0);
}
