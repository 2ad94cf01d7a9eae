// The test kit's failing store: each policy, its narrowing (times, on_call,
// when), every operation, and the order of delayed appends.
#include "aether/core/error.hpp"
#include "aether/persistence/memory_store.hpp"
#include "aether/testkit/failing_store.hpp"
#include "catch.hpp"

#include <chrono>
#include <mutex>
#include <thread>

using namespace aether;
using namespace aether::testkit;
using namespace std::chrono_literals;

namespace {

event ev(const std::string& actor, int64_t version) {
  return make_event("added", actor, version, boost::json::object{{"n", 1}});
}

struct fixture {
  std::shared_ptr<memory_store> memory = std::make_shared<memory_store>();
  failing_store store{memory};

  caf::error append(const std::string& actor, int64_t version) {
    auto res = store.save_event(ev(actor, version));
    return res ? caf::error{} : res.error();
  }

  int64_t latest(const std::string& actor) {
    auto v = memory->get_latest_version(actor);
    REQUIRE(v);
    return *v;
  }
};

} // namespace

TEST_CASE_METHOD(fixture, "failing store: every call passes by default") {
  CHECK(!append("a", 1));
  CHECK(store.get_events("a", 1));
  CHECK(store.calls(store_operation::append) == 1);
  CHECK(store.calls(store_operation::read) == 1);
  CHECK(latest("a") == 1);
}

TEST_CASE_METHOD(fixture, "failing store: fail stores nothing and says why") {
  store.set(store_operation::append, failure_policy::fail());
  auto err = append("a", 1);
  CHECK(is(err, persistence_error::unavailable));
  CHECK(describe(err).find("append of actor \"a\"") != std::string::npos);
  CHECK(latest("a") == 0);
  // Until replaced: the policy applies to every call.
  CHECK(is(append("a", 1), persistence_error::unavailable));
  store.clear();
  CHECK(!append("a", 1));
  CHECK(latest("a") == 1);
}

TEST_CASE_METHOD(fixture, "failing store: reject fails with invalid_argument") {
  store.set(store_operation::append, failure_policy::reject());
  auto err = append("a", 1);
  CHECK(is(err, persistence_error::invalid_argument));
  CHECK(describe(err).find("rejected") != std::string::npos);
  CHECK(latest("a") == 0);
}

TEST_CASE_METHOD(fixture, "failing store: a chosen error is kept") {
  store.set(store_operation::append,
            failure_policy::fail(make_version_conflict("a", 1, 7)));
  auto err = append("a", 1);
  CHECK(is(err, persistence_error::version_conflict));
}

TEST_CASE_METHOD(fixture, "failing store: unknown outcomes that land or not") {
  SECTION("not landed") {
    store.set(store_operation::append, failure_policy::unknown_outcome(false));
    CHECK(is(append("a", 1), persistence_error::unknown_outcome));
    CHECK(latest("a") == 0);
  }
  SECTION("landed") {
    store.set(store_operation::append, failure_policy::unknown_outcome(true));
    CHECK(is(append("a", 1), persistence_error::unknown_outcome));
    CHECK(latest("a") == 1);
  }
  SECTION("a snapshot save that landed") {
    REQUIRE(!append("a", 1));
    store.set(store_operation::save_snapshot,
              failure_policy::unknown_outcome(true));
    actor_snapshot s{"a", 1, boost::json::object{}, now(), 0};
    CHECK(is(store.save_snapshot(s), persistence_error::unknown_outcome));
    auto got = memory->get_latest_snapshot("a");
    REQUIRE(got);
    CHECK(got->has_value());
  }
}

TEST_CASE_METHOD(fixture, "failing store: times, on_call and when") {
  SECTION("times(2): the next two calls, then pass") {
    store.set(store_operation::append, failure_policy::fail().times(2));
    CHECK(append("a", 1));
    CHECK(append("a", 1));
    CHECK(!append("a", 1));
    CHECK(!append("a", 2));
  }
  SECTION("on_call(3): only the third call") {
    store.set(store_operation::append, failure_policy::fail().on_call(3));
    CHECK(!append("a", 1));
    CHECK(!append("a", 2));
    CHECK(append("a", 3));
    CHECK(!append("a", 3));
    CHECK(latest("a") == 3);
  }
  SECTION("when: only matching calls, and only they count") {
    store.set(store_operation::append, failure_policy::fail()
                                         .when([](const store_call& c) {
                                           return c.actor_id == "b"
                                                  && c.batch != nullptr
                                                  && c.batch->size() == 1;
                                         })
                                         .on_call(2));
    CHECK(!append("a", 1));
    CHECK(!append("b", 1)); // b's first: passes
    CHECK(!append("a", 2));
    CHECK(append("b", 2)); // b's second: fails
    CHECK(!append("b", 2));
    CHECK(store.calls(store_operation::append) == 5);
  }
  SECTION("the call's number and version") {
    std::vector<std::pair<uint64_t, int64_t>> seen;
    store.set(store_operation::append,
              failure_policy::fail().when([&](const store_call& c) {
                seen.emplace_back(c.number, c.version);
                return false;
              }));
    CHECK(!append("a", 1));
    CHECK(!append("a", 2));
    CHECK(seen == std::vector<std::pair<uint64_t, int64_t>>{{1, 1}, {2, 2}});
  }
}

TEST_CASE_METHOD(fixture, "failing store: every operation has a policy") {
  REQUIRE(!append("a", 1));
  REQUIRE(!append("a", 2));
  REQUIRE(!store.save_snapshot({"a", 1, boost::json::object{}, now(), 0}));
  store.set(store_operation::read, failure_policy::fail());
  CHECK(is(store.get_events("a", 1).error(), persistence_error::unavailable));
  CHECK(is(store.get_events_with_errors("a", event_range{}).error(),
           persistence_error::unavailable));
  CHECK(
    is(store.get_latest_version("a").error(), persistence_error::unavailable));
  store.set(store_operation::load_snapshot, failure_policy::fail());
  CHECK(
    is(store.get_latest_snapshot("a").error(), persistence_error::unavailable));
  store.set(store_operation::save_snapshot, failure_policy::fail());
  CHECK(is(store.save_snapshot({"a", 2, boost::json::object{}, now(), 0}),
           persistence_error::unavailable));
  store.set(store_operation::delete_events, failure_policy::fail());
  CHECK(is(store.delete_events_to("a", 1), persistence_error::unavailable));
  store.set(store_operation::delete_snapshots, failure_policy::fail());
  CHECK(is(store.delete_snapshots("a", snapshot_criteria::latest()).error(),
           persistence_error::unavailable));
  // Nothing changed underneath.
  auto evs = memory->get_events("a", 1);
  REQUIRE(evs);
  CHECK(evs->size() == 2);
  auto snap = memory->get_latest_snapshot("a");
  REQUIRE(snap);
  REQUIRE(snap->has_value());
  CHECK((*snap)->version == 1);
  CHECK(store.calls(store_operation::read) == 3);
}

TEST_CASE_METHOD(fixture, "failing store: a delayed read waits, then passes") {
  REQUIRE(!append("a", 1));
  store.set(store_operation::read, failure_policy::delay(50ms));
  auto t0 = std::chrono::steady_clock::now();
  auto evs = store.get_events("a", 1);
  CHECK(std::chrono::steady_clock::now() - t0 >= 50ms);
  REQUIRE(evs);
  CHECK(evs->size() == 1);
}

TEST_CASE_METHOD(fixture, "failing store: appends behind a delayed one keep "
                          "their order (background completion)") {
  store.set(store_operation::append, failure_policy::delay(50ms).times(1));
  std::mutex mtx;
  std::vector<int64_t> done;
  auto record = [&](int64_t v) {
    return [&, v](caf::expected<append_result> res) {
      std::lock_guard<std::mutex> guard{mtx};
      done.push_back(res ? v : -v);
    };
  };
  store.append({ev("a", 1)}, record(1));
  store.append({ev("a", 2)}, record(2)); // passes, but waits behind 1
  CHECK(store.delayed() == 2);
  REQUIRE(store.wait_delayed(10s));
  std::lock_guard<std::mutex> guard{mtx};
  CHECK(done == std::vector<int64_t>{1, 2});
  CHECK(latest("a") == 2);
}

TEST_CASE("failing store: caller completion completes on the calling "
          "thread, after the delay") {
  auto memory = std::make_shared<memory_store>();
  failing_store store{memory, failing_store::completion::caller};
  store.set(store_operation::append, failure_policy::delay(20ms).times(1));
  auto caller = std::this_thread::get_id();
  std::vector<std::thread::id> threads;
  auto t0 = std::chrono::steady_clock::now();
  for (int64_t v = 1; v <= 2; ++v)
    store.append({ev("a", v)}, [&](caf::expected<append_result> res) {
      CHECK(res);
      threads.push_back(std::this_thread::get_id());
    });
  CHECK(std::chrono::steady_clock::now() - t0 >= 20ms);
  CHECK(threads == std::vector<std::thread::id>{caller, caller});
  CHECK(store.delayed() == 0);
  CHECK(memory->get_latest_version("a") == int64_t{2});
}

TEST_CASE_METHOD(fixture, "failing store: on_call(n).times(k) fails the "
                          "n-th to the (n+k-1)-th call") {
  store.set(store_operation::append,
            failure_policy::fail().on_call(2).times(2));
  CHECK(!append("a", 1));
  CHECK(append("a", 2));
  CHECK(append("a", 2));
  CHECK(!append("a", 2));
}

TEST_CASE_METHOD(fixture, "failing store: a predicate may call the store; "
                          "one that throws fails the call") {
  SECTION("calling the store from the predicate does not deadlock") {
    store.set(store_operation::append,
              failure_policy::fail().when([this](const store_call&) {
                return store.calls(store_operation::read) > 0;
              }));
    CHECK(!append("a", 1));
    REQUIRE(store.get_latest_version("a"));
    CHECK(append("a", 2));
  }
  SECTION("a throwing predicate") {
    store.set(store_operation::append,
              failure_policy::fail().when([](const store_call&) -> bool {
                throw std::runtime_error("boom");
              }));
    auto err = append("a", 1);
    CHECK(is(err, persistence_error::store_failure));
    CHECK(describe(err).find("boom") != std::string::npos);
    CHECK(latest("a") == 0);
  }
}

TEST_CASE_METHOD(fixture, "failing store: a failing append behind a delayed "
                          "one completes after it") {
  store.set(store_operation::append, failure_policy::delay(30ms).times(1));
  std::mutex mtx;
  std::vector<std::string> done;
  store.append({ev("a", 1)}, [&](caf::expected<append_result> res) {
    std::lock_guard<std::mutex> guard{mtx};
    done.push_back(res ? "1 stored" : "1 failed");
  });
  store.set(store_operation::append, failure_policy::unknown_outcome(true));
  store.append({ev("a", 2)}, [&](caf::expected<append_result> res) {
    std::lock_guard<std::mutex> guard{mtx};
    done.push_back(res ? "2 stored" : "2 unknown");
  });
  REQUIRE(store.wait_delayed(10s));
  std::lock_guard<std::mutex> guard{mtx};
  CHECK(done == std::vector<std::string>{"1 stored", "2 unknown"});
  CHECK(latest("a") == 2); // 2 landed, after 1
}
