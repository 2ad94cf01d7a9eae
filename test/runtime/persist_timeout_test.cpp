// persist_timeout: a persist whose store call does not answer in time fails
// with `persist_timeout`, measured from its own start, in either persist
// mode; one clock entry per actor serves every persist in flight.

#include "actor_fixture.hpp"
#include "aether/runtime/actor_phase.hpp"
#include "aether/runtime/persistent_actor.hpp"
#include "aether/runtime/runtime_error.hpp"
#include "held_store.hpp"
#include "tally.hpp"

#include <caf/actor_cast.hpp>
#include <caf/event_based_actor.hpp>
#include <chrono>
#include <memory>
#include <vector>

using namespace aether;
using namespace aether::test;
using namespace std::chrono_literals;

namespace {

std::shared_ptr<held_store> make_held() {
  return std::make_shared<held_store>(std::make_shared<memory_store>());
}

struct fixture : actor_fixture {
  explicit fixture(std::shared_ptr<held_store> h = make_held())
    : actor_fixture(h), held(std::move(h)) {
    // Appends go straight to the store (which holds them); reads run on
    // worker threads. The persist timer runs on the test clock.
    ctx = store_context::make(sys, held, store_io::options{2, true});
  }

  caf::actor spawn_running(const std::string& id, persist_mode mode) {
    persistence_options o;
    o.mode = mode;
    o.pipeline_window = 8;
    o.persist_timeout = std::chrono::seconds{10};
    o.log = [](const std::string&) {};
    auto a = spawn_actor<tally_actor>(id, ctx, o);
    auto* x
      = dynamic_cast<tally_actor*>(caf::actor_cast<caf::abstract_actor*>(a));
    REQUIRE(x != nullptr);
    REQUIRE(run_until([&] {
      return x->phase() == actor_phase::running;
    }));
    return a;
  }

  /// Completes the oldest held append and runs until its reply is in.
  void release_oldest(size_t slot) {
    held->release(0);
    REQUIRE(run_until([&] {
      return answered[slot];
    }));
  }

  /// Sends `add n` from a client actor; its reply lands in `replies[slot]`.
  void add(const caf::actor& a, int64_t n) {
    auto slot = replies.size();
    replies.emplace_back(caf::error{});
    answered.push_back(false);
    sys.spawn([this, a, n, slot](caf::event_based_actor* client) {
      client->request(a, caf::infinite, add_atom::value, n)
        .then(
          [this, slot](int64_t sum) {
            replies[slot] = sum;
            answered[slot] = true;
          },
          [this, slot](caf::error& err) {
            replies[slot] = std::move(err);
            answered[slot] = true;
          });
    });
    REQUIRE(run_until([&] {
      return held->held() >= 1 || answered[slot];
    }));
  }

  bool timed_out(size_t slot) const {
    return answered[slot] && !replies[slot]
           && is(replies[slot].error(), runtime_error::persist_timeout);
  }

  /// Timers pending on the test clock.
  size_t timers() {
    return sched.clock().schedule().size();
  }

  std::shared_ptr<held_store> held;
  std::vector<caf::expected<int64_t>> replies;
  std::vector<bool> answered;
};

} // namespace

TEST_CASE_METHOD(fixture, "persist timeout: a sequential persist the store "
                          "does not answer fails after persist_timeout, "
                          "counted from its own start") {
  auto a = spawn_running("seq", persist_mode::sequential);
  // The first persist is answered after 6 s; the second starts then.
  add(a, 1);
  REQUIRE(held->held() == 1);
  advance(6s);
  release_oldest(0);
  REQUIRE(replies[0]);
  add(a, 2);
  REQUIRE(held->held() == 1);
  // 10 s after the first persist's start: the second has run for 4 s only.
  advance(4s);
  CHECK_FALSE(answered[1]);
  advance(5s);
  CHECK_FALSE(answered[1]);
  // 10 s after its own start.
  advance(1s);
  CHECK(timed_out(1));
}

TEST_CASE_METHOD(fixture, "persist timeout: pipelined persists each fail "
                          "after persist_timeout from their own start") {
  auto a = spawn_running("pipe", persist_mode::pipelined);
  add(a, 1);
  advance(3s);
  add(a, 2);
  REQUIRE(run_until([&] {
    return held->held() == 2;
  }));
  // The first is answered; the second has 10 s from its own start.
  release_oldest(0);
  REQUIRE(replies[0]);
  advance(7s); // 10 s after the first's start, 7 s after the second's
  CHECK_FALSE(answered[1]);
  advance(3s);
  CHECK(timed_out(1));
}

TEST_CASE_METHOD(fixture, "persist timeout: one clock entry per actor, not "
                          "one per persist") {
  // A timer per persist kept a clock entry for persist_timeout after each
  // persist (at 30,000 persists/s and 30 s, 900,000 entries), and woke the
  // clock's thread for every persist.
  auto a = spawn_running("many", persist_mode::sequential);
  auto before = timers();
  for (int64_t i = 1; i <= 50; ++i) {
    add(a, i);
    REQUIRE(held->held() == 1);
    release_oldest(static_cast<size_t>(i - 1));
  }
  CHECK(answered[49]);
  CHECK(replies[49] == int64_t{50 * 51 / 2});
  CHECK(timers() <= before + 1);
  // The one entry fires, finds nothing in flight and is not armed again.
  advance(10s);
  CHECK(timers() == before);
}

TEST_CASE("recovery timeout: recovery's store calls leave no clock entry "
          "once answered") {
  // CAF 0.17 keeps a request's timeout until it fires: each recovery left
  // its store calls' entries (the latest version and snapshot, then the
  // events) on the clock for recovery_timeout, and then woke the idle actor
  // with stray timeout messages.
  auto mem = std::make_shared<memory_store>();
  std::vector<event> history;
  for (int64_t v = 1; v <= 3; ++v)
    history.push_back(
      make_event("added", "rec", v, boost::json::object{{"n", 1}}));
  REQUIRE(mem->save_events(std::move(history)));
  fixture f{std::make_shared<held_store>(mem)};
  auto before = f.timers();
  auto a = f.spawn_running("rec", persist_mode::sequential);
  auto* x
    = dynamic_cast<tally_actor*>(caf::actor_cast<caf::abstract_actor*>(a));
  REQUIRE(x != nullptr);
  CHECK(x->version() == 3);
  CHECK(f.timers() == before);
}
