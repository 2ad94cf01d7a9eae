// The actor core's phases (actor_phase), observed step by step on CAF's
// test_coordinator: recovering -> running -> persisting -> running,
// restarting after an unknown outcome, passivating, stopping.

#include "actor_fixture.hpp"
#include "aether/runtime/actor_phase.hpp"
#include "aether/runtime/persistent_actor.hpp"
#include "eventually.hpp"
#include "held_store.hpp"
#include "tally.hpp"

#include <caf/actor_cast.hpp>
#include <chrono>

using namespace aether;
using namespace aether::test;

namespace {

struct fixture : actor_fixture {
  fixture()
    : fixture(std::make_shared<held_store>(std::make_shared<memory_store>())) {
    // nop
  }

  explicit fixture(std::shared_ptr<held_store> store)
    : actor_fixture(store), held(std::move(store)) {
    // Appends go straight to the store (which holds them); reads run on
    // worker threads, so the test runs the actor until a condition holds.
    ctx = store_context::make(sys, held, store_io::options{2, true});
  }

  static tally_actor& impl(const caf::actor& a) {
    auto* ptr
      = dynamic_cast<tally_actor*>(caf::actor_cast<caf::abstract_actor*>(a));
    REQUIRE(ptr != nullptr);
    return *ptr;
  }

  /// The reply of a request sent with `post`, after the system ran.
  template <class Handle>
  caf::expected<int64_t> reply(Handle& hdl) {
    caf::expected<int64_t> result = caf::error{};
    hdl.receive(
      [&](int64_t x) {
        result = x;
      },
      [&](caf::error& err) {
        result = std::move(err);
      });
    return result;
  }

  /// Spawns a tally actor and runs it until it recovered.
  tally_actor& spawn_running(caf::actor& a, persistence_options o = {}) {
    a = spawn_actor<tally_actor>("p", ctx, std::move(o));
    auto& x = impl(a);
    REQUIRE(run_until([&] {
      return x.phase() == actor_phase::running;
    }));
    return x;
  }

  std::shared_ptr<held_store> held;
};

} // namespace

TEST_CASE_METHOD(fixture, "phases: recovering, running, persisting, running") {
  auto a = spawn_actor<tally_actor>("p", ctx);
  auto& x = impl(a);
  CHECK(x.phase() == actor_phase::awaiting_recovery);
  REQUIRE(run_until([&] {
    return x.phase() == actor_phase::running;
  }));
  auto first = post(a, add_atom::value, int64_t{2});
  auto second = post(a, add_atom::value, int64_t{3});
  run();
  // The first add is with the store; the second waits in the stash.
  CHECK(x.phase() == actor_phase::persisting);
  REQUIRE(held->held() == 1);
  held->release(0);
  run();
  // The first add was answered; the second is with the store now.
  CHECK(x.phase() == actor_phase::persisting);
  REQUIRE(held->held() == 1);
  held->release(0);
  run();
  CHECK(x.phase() == actor_phase::running);
  CHECK(reply(first) == int64_t{2});
  CHECK(reply(second) == int64_t{5});
}

TEST_CASE_METHOD(fixture, "phases: an unknown outcome restarts, then "
                          "recovers") {
  persistence_options o;
  o.on_unknown_outcome = failure_mode::restart;
  o.restart_backoff = std::chrono::milliseconds{100};
  caf::actor a;
  auto& x = spawn_running(a, o);
  auto hdl = post(a, add_atom::value, int64_t{2});
  run();
  REQUIRE(held->held() == 1);
  held->fail(0, make_persistence_error(persistence_error::unknown_outcome,
                                       "injected"));
  run();
  CHECK(x.phase() == actor_phase::restarting);
  CHECK(x.recovering());
  CHECK(is(reply(hdl).error(), persistence_error::unknown_outcome));
  advance(std::chrono::milliseconds{100});
  REQUIRE(run_until([&] {
    return x.phase() != actor_phase::recovering;
  }));
  CHECK(x.phase() == actor_phase::running);
  CHECK_FALSE(x.recovering());
}

TEST_CASE_METHOD(fixture, "phases: passivating ends the actor normally") {
  caf::actor a;
  auto& x = spawn_running(a);
  auto hdl = post(a, add_atom::value, int64_t{2});
  run();
  REQUIRE(held->held() == 1);
  held->release(0);
  run();
  CHECK(reply(hdl) == int64_t{2});
  // The snapshot is saved on an I/O worker: the actor is passivating until
  // the save returns, then it stops.
  auto hdl2 = post(a, passivate_atom::value);
  run();
  CHECK(x.phase() == actor_phase::passivating);
  REQUIRE(run_until([&] {
    return a->getf(caf::abstract_actor::is_terminated_flag);
  }));
  CHECK(reply(hdl2) == int64_t{1});
  auto snap = held->get_latest_snapshot("p");
  REQUIRE(snap);
  REQUIRE(*snap);
  CHECK((*snap)->version == 1);
}

TEST_CASE_METHOD(fixture, "phases: a refused setup is stopping at once") {
  auto a = spawn_actor<tally_actor>("", ctx); // an invalid actor id
  auto& x = impl(a);
  run();
  CHECK(x.phase() == actor_phase::stopping);
  auto res = ask<int64_t>(a, get_atom::value);
  CHECK_FALSE(res);
}

TEST_CASE("phases have names") {
  CHECK(to_string(actor_phase::recovering) == "recovering");
  CHECK(to_string(actor_phase::stopping) == "stopping");
}
