#pragma once

// A Catch2 fixture that runs an actor system on CAF's deterministic
// test_coordinator: nothing runs until the test calls `run()`.

#include "aether/core/error.hpp"
#include "aether/persistence/memory_store.hpp"
#include "aether/runtime/config.hpp"
#include "aether/runtime/store_context.hpp"
#include "aether/testkit/test_config.hpp"
#include "catch.hpp"
#include "eventually.hpp"

#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <memory>
#include <string>

namespace aether::test {

using test_config = aether::testkit::test_config;

class actor_fixture {
public:
  using coordinator = caf::scheduler::test_coordinator;

  explicit actor_fixture(std::shared_ptr<event_store_with_snapshots> store
                         = nullptr)
    : sys(cfg), self(sys, true),
      sched(dynamic_cast<coordinator&>(sys.scheduler())) {
    if (!store)
      store = memory;
    ctx = store_context::make(sys, store, store_io::options{2, false});
  }

  virtual ~actor_fixture() {
    run();
    for (auto& a : spawned)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    spawned.clear();
    run();
  }

  /// Spawns an actor the fixture stops at the end of the test.
  template <class T, class... Ts>
  caf::actor spawn_actor(Ts&&... xs) {
    auto a = sys.spawn<T>(std::forward<Ts>(xs)...);
    spawned.push_back(a);
    return a;
  }

  /// Runs every runnable job until nothing is left.
  size_t run() {
    return sched.run();
  }

  /// Runs every runnable job until `pred` holds, for at most 10 s (for
  /// actors whose store calls complete on other threads).
  template <class Pred>
  bool run_until(Pred pred) {
    return eventually([&] {
      run();
      return pred();
    });
  }

  /// Advances the test clock (fires delayed messages and timeouts that are
  /// due) and runs what became runnable.
  size_t advance(caf::timespan t) {
    auto n = sched.clock().advance_time(t);
    run();
    return n;
  }

  /// Sends a request, runs the system and returns the reply (or its error).
  template <class T, class... Ts>
  caf::expected<T> ask(const caf::actor& dest, Ts&&... xs) {
    auto hdl = self->request(dest, caf::infinite, std::forward<Ts>(xs)...);
    run();
    caf::expected<T> result = caf::error{};
    bool got = false;
    hdl.receive(
      [&](T& x) {
        result = std::move(x);
        got = true;
      },
      [&](caf::error& err) {
        result = std::move(err);
        got = true;
      });
    REQUIRE(got);
    return result;
  }

  /// Sends a request without running; read the reply later with `reply`.
  template <class... Ts>
  auto post(const caf::actor& dest, Ts&&... xs) {
    return self->request(dest, caf::infinite, std::forward<Ts>(xs)...);
  }

  std::vector<caf::actor> spawned;
  std::shared_ptr<memory_store> memory = std::make_shared<memory_store>();
  test_config cfg;
  caf::actor_system sys;
  caf::scoped_actor self;
  coordinator& sched;
  store_context ctx;
};

} // namespace aether::test
