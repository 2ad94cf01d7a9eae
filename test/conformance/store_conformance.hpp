#pragma once

// The one conformance suite every event and snapshot store passes.
//
// A test file defines its backends and then includes this header:
//
//   struct my_backend {
//     static constexpr const char* name = "...";
//     aether::event_store_with_snapshots& store();
//     // An independent instance on the same data (own connection), or the
//     // same instance where the backend has no such thing.
//     aether::event_store_with_snapshots& other_store();
//     // Overwrites the stored record of (actor, version) with `raw`.
//     void corrupt_event(const std::string& actor, int64_t version,
//                        const std::string& raw);
//     // Stores `raw` as the snapshot of (actor, version).
//     void corrupt_snapshot(const std::string& actor, int64_t version,
//                           const std::string& raw);
//   };
//   using conformance_backends = std::tuple<my_backend>;
//   #include "store_conformance.hpp"
//
// The cases follow Akka Persistence's plugin TCK: the fixture writes events
// 1..5 of one actor as the batches [1], [2], [3], [4,5].

#include "aether/core/error.hpp"
#include "aether/persistence/event.hpp"
#include "aether/persistence/live_query.hpp"
#include "aether/persistence/snapshot_store.hpp"
#include "aether/snapshot/recovery.hpp"
#include "catch.hpp"

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace aether::conformance {

inline const std::string actor = "account-1";

inline event ev(const std::string& actor_id, int64_t version,
                const std::string& type = "deposited") {
  return make_event(
    type, actor_id, version,
    boost::json::object{{"amount", version * 10},
                        {"note", "v" + std::to_string(version)}});
}

inline std::vector<int64_t> versions(const std::vector<event>& xs) {
  std::vector<int64_t> result;
  for (auto& x : xs)
    result.push_back(x.version);
  return result;
}

using vs = std::vector<int64_t>;

/// Writes events 1..5 of `actor` as the batches [1], [2], [3], [4,5].
template <class Backend>
struct events_fixture : Backend {
  events_fixture() {
    auto& s = this->store();
    for (int64_t v = 1; v <= 3; ++v)
      REQUIRE(s.save_event(ev(actor, v)));
    REQUIRE(s.save_events({ev(actor, 4), ev(actor, 5)}));
  }

  std::vector<int64_t> read(int64_t from, int64_t to = INT64_MAX,
                            size_t max = SIZE_MAX) {
    auto res = this->store().get_events(actor, from, to, max);
    REQUIRE(res);
    return versions(*res);
  }
};

inline timestamp snap_time(int64_t version) {
  return timestamp{std::chrono::seconds{1700000000 + version}};
}

inline actor_snapshot snap(const std::string& actor_id, int64_t version) {
  actor_snapshot s;
  s.actor_id = actor_id;
  s.version = version;
  s.state = boost::json::object{{"balance", version * 100}};
  s.time = snap_time(version);
  return s;
}

/// Saves snapshots at versions 11..15 of `actor`.
template <class Backend>
struct snapshots_fixture : Backend {
  snapshots_fixture() {
    for (int64_t v = 11; v <= 15; ++v)
      REQUIRE_FALSE(this->store().save_snapshot(snap(actor, v)));
  }

  int64_t latest(snapshot_criteria c = snapshot_criteria::latest()) {
    auto res = this->store().get_latest_snapshot(actor, c);
    REQUIRE(res);
    return *res ? (*res)->version : 0;
  }
};

} // namespace aether::conformance

#define AETHER_CONFORMANCE_CASE(title)                                         \
  TEMPLATE_LIST_TEST_CASE(title, "[conformance]", conformance_backends)

using namespace aether;
using namespace aether::conformance;

// -- events -------------------------------------------------------------------

AETHER_CONFORMANCE_CASE("replay: every range the TCK names") {
  events_fixture<TestType> f;
  SECTION("all events") {
    CHECK(f.read(1) == vs{1, 2, 3, 4, 5});
    CHECK(f.read(0) == vs{1, 2, 3, 4, 5});
  }
  SECTION("from a lower bound") {
    CHECK(f.read(3) == vs{3, 4, 5});
  }
  SECTION("to an upper bound; latest version still 5") {
    CHECK(f.read(1, 3) == vs{1, 2, 3});
    CHECK(f.store().get_latest_version(actor) == int64_t{5});
  }
  SECTION("with a count limit") {
    CHECK(f.read(1, INT64_MAX, 3) == vs{1, 2, 3});
  }
  SECTION("with both bounds") {
    CHECK(f.read(2, 4) == vs{2, 3, 4});
  }
  SECTION("with bounds and a limit") {
    CHECK(f.read(2, 5, 2) == vs{2, 3});
  }
  SECTION("lower == upper") {
    CHECK(f.read(3, 3) == vs{3});
  }
  SECTION("limit 1") {
    CHECK(f.read(1, INT64_MAX, 1) == vs{1});
  }
  SECTION("limit 0 gives no events") {
    CHECK(f.read(1, INT64_MAX, 0).empty());
  }
  SECTION("lower > upper gives no events") {
    CHECK(f.read(4, 3).empty());
  }
  SECTION("an unknown actor has no events and version 0") {
    auto res = f.store().get_events("nobody", 1);
    REQUIRE(res);
    CHECK(res->empty());
    CHECK(f.store().get_latest_version("nobody") == int64_t{0});
  }
  SECTION("latest version") {
    CHECK(f.store().get_latest_version(actor) == int64_t{5});
  }
}

AETHER_CONFORMANCE_CASE("appends of one actor started at once land in "
                        "order") {
  // `append` does not wait: a pipelined actor starts its next append before
  // the previous one completed, and relies on the store applying them in
  // the order they were started. A batch that fails (here: a wrong version)
  // fails alone; the appends after it see the store as it left it.
  TestType f;
  constexpr int64_t n = 200;
  std::mutex mtx;
  std::condition_variable cv;
  std::map<int64_t, caf::expected<append_result>> results; // by batch's last
  size_t started = 0;
  auto start = [&](std::vector<event> batch, int64_t key) {
    ++started;
    f.store().append(std::move(batch),
                     [&, key](caf::expected<append_result> res) {
                       std::lock_guard<std::mutex> guard{mtx};
                       results.emplace(key, std::move(res));
                       cv.notify_all();
                     });
  };
  for (int64_t v = 1; v <= n; ++v) {
    if (v == 100)
      start({ev(actor, 7)}, -1); // stale: fails alone
    if (v % 10 == 0) {
      start({ev(actor, v), ev(actor, v + 1)}, v + 1); // a batch of two
      ++v;
      continue;
    }
    start({ev(actor, v)}, v);
  }
  std::unique_lock<std::mutex> lock{mtx};
  REQUIRE(cv.wait_for(lock, std::chrono::seconds{60}, [&] {
    return results.size() == started;
  }));
  for (auto& [key, res] : results) {
    CAPTURE(key);
    if (key == -1) {
      REQUIRE_FALSE(res);
      CHECK(is(res.error(), persistence_error::version_conflict));
    } else {
      REQUIRE(res);
      CHECK(res->version == key);
    }
  }
  lock.unlock();
  auto all = f.store().get_events(actor, 1);
  REQUIRE(all);
  REQUIRE(all->size() == static_cast<size_t>(n + 1));
  for (size_t i = 0; i < all->size(); ++i)
    CHECK((*all)[i].version == static_cast<int64_t>(i + 1));
  CHECK(f.store().get_latest_version(actor) == n + 1);
}

AETHER_CONFORMANCE_CASE("replay returns what was stored") {
  TestType f;
  auto e = ev(actor, 1);
  e.command_id = "cmd-7";
  e.set_correlation_id("corr-1");
  e.set_user_id("user-9");
  REQUIRE(f.store().save_event(e));
  auto res = f.store().get_events(actor, 1);
  REQUIRE(res);
  REQUIRE(res->size() == 1);
  CHECK(res->front() == e);
  CHECK(res->front().data.at("amount").is_int64());
}

AETHER_CONFORMANCE_CASE("save fills in a missing id and timestamp") {
  TestType f;
  event e;
  e.type = "opened";
  e.actor_id = actor;
  e.version = 1;
  REQUIRE(f.store().save_event(e));
  auto res = f.store().get_events(actor, 1);
  REQUIRE(res);
  REQUIRE(res->size() == 1);
  CHECK(res->front().id.size() == 36);
  CHECK(res->front().time.time_since_epoch().count() > 0);
}

AETHER_CONFORMANCE_CASE("deleting events keeps the latest version") {
  events_fixture<TestType> f;
  SECTION("delete up to 3") {
    REQUIRE_FALSE(f.store().delete_events_to(actor, 3));
    CHECK(f.read(1) == vs{4, 5});
    CHECK(f.store().get_latest_version(actor) == int64_t{5});
  }
  SECTION("delete everything") {
    REQUIRE_FALSE(f.store().delete_events_to(actor, 5));
    CHECK(f.read(1).empty());
    CHECK(f.store().get_latest_version(actor) == int64_t{5});
    SECTION("the next append still continues at 6") {
      CHECK(is(f.store().save_event(ev(actor, 1)).error(),
               persistence_error::version_conflict));
      CHECK(f.store().save_event(ev(actor, 6)));
      CHECK(f.read(1) == vs{6});
    }
  }
}

AETHER_CONFORMANCE_CASE("actor ids: every actor with an event, sorted") {
  TestType f;
  auto& s = f.store();
  auto none = s.actor_ids();
  REQUIRE(none);
  CHECK(none->empty());
  REQUIRE(s.save_event(ev("b.x_1", 1))); // dots and underscores survive
  REQUIRE(s.save_event(ev("a", 1)));
  REQUIRE(s.save_events({ev("c_2E", 1), ev("c_2E", 2)}));
  // A snapshot alone does not make an actor with events.
  REQUIRE_FALSE(s.save_snapshot(snap("snapshot-only", 3)));
  // Deleted events keep the actor: its latest version stays.
  REQUIRE_FALSE(s.delete_events_to("c_2E", 2));
  auto ids = s.actor_ids();
  REQUIRE(ids);
  CHECK(*ids == std::vector<std::string>{"a", "b.x_1", "c_2E"});
}

AETHER_CONFORMANCE_CASE("deleting a lower range again changes nothing") {
  events_fixture<TestType> f;
  REQUIRE_FALSE(f.store().delete_events_to(actor, 5));
  REQUIRE_FALSE(f.store().delete_events_to(actor, 2));
  REQUIRE_FALSE(f.store().delete_events_to(actor, 3));
  CHECK(f.store().get_latest_version(actor) == int64_t{5});
  CHECK(is(f.store().save_event(ev(actor, 5)).error(),
           persistence_error::version_conflict));
  CHECK(f.store().save_event(ev(actor, 6)));
  CHECK(f.read(1) == vs{6});
}

AETHER_CONFORMANCE_CASE("batches read back with every count limit") {
  // Two batches of three: [1..3], [4..6]. Every max_count from 1 to 4
  // (batch size + 1), read the way recovery reads: from the next version,
  // after the position the previous read reported.
  TestType f;
  auto& s = f.store();
  const std::string id = "batched";
  REQUIRE(s.save_events({ev(id, 1), ev(id, 2), ev(id, 3)}));
  REQUIRE(s.save_events({ev(id, 4), ev(id, 5), ev(id, 6)}));
  for (size_t max = 1; max <= 4; ++max) {
    CAPTURE(max);
    auto first = s.get_events(id, 1, INT64_MAX, max);
    REQUIRE(first);
    CHECK(versions(*first).size() == max);
    vs got;
    int64_t next = 1;
    uint64_t after = 0;
    for (int round = 0; round < 10 && next <= 6; ++round) {
      event_range r;
      r.from_version = next;
      r.max_count = max;
      r.after_position = after;
      auto res = s.get_events_with_errors(id, r);
      REQUIRE(res);
      REQUIRE(res->errors.empty());
      if (res->events.empty())
        break;
      for (auto& e : res->events)
        got.push_back(e.version);
      next = res->events.back().version + 1;
      after = res->last_position;
    }
    CHECK(got == vs{1, 2, 3, 4, 5, 6});
  }
  // replay_events (recovery's loop) with a batch size below the batches'.
  vs replayed;
  auto n = replay_events(s, id, 1, 6, 2, [&](const event& e) {
    replayed.push_back(e.version);
  });
  REQUIRE(n);
  CHECK(*n == 6);
  CHECK(replayed == vs{1, 2, 3, 4, 5, 6});
}

AETHER_CONFORMANCE_CASE("a wrong position hint loses no event") {
  events_fixture<TestType> f;
  for (uint64_t hint :
       {uint64_t{1}, uint64_t{2}, uint64_t{3}, uint64_t{4}, uint64_t{1000}}) {
    CAPTURE(hint);
    event_range r;
    r.from_version = 2;
    r.after_position = hint;
    auto res = f.store().get_events_with_errors(actor, r);
    REQUIRE(res);
    CHECK(versions(res->events) == vs{2, 3, 4, 5});
  }
}

AETHER_CONFORMANCE_CASE("strings that are not UTF-8 are refused") {
  TestType f;
  auto& s = f.store();
  const std::string bad = "caf\xe9";
  auto refused = [&](event e, const std::string& field) {
    auto res = s.save_event(std::move(e));
    REQUIRE_FALSE(res);
    CHECK(is(res.error(), persistence_error::invalid_argument));
    CHECK(describe(res.error()).find(field) != std::string::npos);
    CHECK(s.get_latest_version("utf") == int64_t{0});
  };
  auto e = ev("utf", 1);
  SECTION("type") {
    e.type = bad;
    refused(e, "type");
  }
  SECTION("command id") {
    e.command_id = bad;
    refused(e, "command_id");
  }
  SECTION("metadata value") {
    e.metadata["note"] = bad;
    refused(e, "metadata");
  }
  SECTION("metadata key") {
    e.metadata[bad] = "x";
    refused(e, "metadata");
  }
  SECTION("data string") {
    e.data = boost::json::object{{"name", bad}};
    refused(e, "data");
  }
  SECTION("data key") {
    e.data = boost::json::object{{bad, 1}};
    refused(e, "data");
  }
  SECTION("nested data, overlong and surrogate forms") {
    for (auto x :
         {std::string{"\xc0\xaf"}, std::string{"\xed\xa0\x80"},
          std::string{"\xf4\x90\x80\x80"}, std::string{"ok\xe2\x82"}}) {
      e.data = boost::json::object{
        {"list", boost::json::array{1, boost::json::object{{"s", x}}}}};
      refused(e, "data");
    }
  }
  SECTION("snapshot state") {
    auto sn = snap("utf", 1);
    sn.state = boost::json::object{{"name", bad}};
    auto err = s.save_snapshot(sn);
    CHECK(is(err, persistence_error::invalid_argument));
    CHECK(describe(err).find("state") != std::string::npos);
    auto latest = s.get_latest_snapshot("utf");
    REQUIRE(latest);
    CHECK_FALSE(latest->has_value());
  }
  SECTION("valid UTF-8 round-trips") {
    e.data = boost::json::object{{"name", "caf\xc3\xa9 \xf0\x9f\x98\x80"}};
    e.metadata["who"] = "J\xc3\xbcrgen";
    REQUIRE(s.save_event(e));
    auto back = s.get_events("utf", 1);
    REQUIRE(back);
    REQUIRE(back->size() == 1);
    CHECK(back->front() == e);
  }
}

// -- snapshots ----------------------------------------------------------------

AETHER_CONFORMANCE_CASE("snapshots: selection and deletion") {
  snapshots_fixture<TestType> f;
  auto& s = f.store();
  SECTION("none for an unknown actor") {
    auto res = s.get_latest_snapshot("nobody");
    REQUIRE(res);
    CHECK_FALSE(*res);
  }
  SECTION("none when the criteria exclude all") {
    snapshot_criteria c;
    c.max_version = 10;
    CHECK(f.latest(c) == 0);
    CHECK(f.latest(snapshot_criteria::none()) == 0);
  }
  SECTION("latest") {
    auto res = s.get_latest_snapshot(actor);
    REQUIRE(res);
    REQUIRE(*res);
    CHECK(**res == snap(actor, 15));
  }
  SECTION("latest under a version bound") {
    snapshot_criteria c;
    c.max_version = 13;
    CHECK(f.latest(c) == 13);
  }
  SECTION("latest under version and timestamp bounds") {
    snapshot_criteria c;
    c.max_version = 14;
    c.max_time = snap_time(12);
    CHECK(f.latest(c) == 12);
  }
  SECTION("delete one") {
    auto n = s.delete_snapshot(actor, 15);
    REQUIRE(n);
    CHECK(*n == 1);
    CHECK(f.latest() == 14);
  }
  SECTION("delete by criteria") {
    snapshot_criteria c;
    c.max_version = 13;
    auto n = s.delete_snapshots(actor, c);
    REQUIRE(n);
    CHECK(*n == 3);
    CHECK(f.latest(c) == 0);
    CHECK(f.latest() == 15);
  }
  SECTION("criteria that match nothing delete nothing") {
    snapshot_criteria c;
    c.max_version = 10;
    auto n = s.delete_snapshots(actor, c);
    REQUIRE(n);
    CHECK(*n == 0);
    c = snapshot_criteria::latest();
    c.max_time = snap_time(10);
    n = s.delete_snapshots(actor, c);
    REQUIRE(n);
    CHECK(*n == 0);
    CHECK(f.latest() == 15);
  }
  SECTION("re-saving the same version overwrites") {
    auto x = snap(actor, 15);
    x.state = boost::json::object{{"balance", -1}};
    REQUIRE_FALSE(s.save_snapshot(x));
    auto res = s.get_latest_snapshot(actor);
    REQUIRE(res);
    REQUIRE(*res);
    CHECK((*res)->state == x.state);
    auto n = s.delete_snapshots(actor, snapshot_criteria::latest());
    REQUIRE(n);
    CHECK(*n == 5);
  }
}

AETHER_CONFORMANCE_CASE("a 100 KiB snapshot round-trips") {
  TestType f;
  auto x = snap(actor, 1);
  boost::json::array big;
  for (int i = 0; i < 100 * 1024 / 16; ++i)
    big.emplace_back("0123456789abcdef");
  x.state = boost::json::object{{"blob", big}, {"n", 12345678901234}};
  REQUIRE_FALSE(f.store().save_snapshot(x));
  auto res = f.store().get_latest_snapshot(actor);
  REQUIRE(res);
  REQUIRE(*res);
  CHECK(**res == x);
}

// -- concurrency
// ----------------------------------------------------------------

AETHER_CONFORMANCE_CASE("a stale writer gets version_conflict") {
  events_fixture<TestType> f;
  auto res = f.other_store().save_event(ev(actor, 3));
  REQUIRE_FALSE(res);
  auto info = get_version_conflict(res.error());
  REQUIRE(info);
  CHECK(info->actor_id == actor);
  CHECK(info->attempted_version == 3);
  CHECK(info->current_version == 5);
  CHECK(describe(res.error())
        == "version conflict: actor \"account-1\" has version 5, cannot save "
           "version 3");
}

AETHER_CONFORMANCE_CASE("16 threads write the same next version") {
  events_fixture<TestType> f;
  std::atomic<int> ok{0};
  std::atomic<int> conflicts{0};
  std::atomic<int> other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 16; ++i)
    threads.emplace_back([&, i] {
      auto& s = i % 2 == 0 ? f.store() : f.other_store();
      auto res = s.save_event(ev(actor, 6));
      if (res)
        ++ok;
      else if (is(res.error(), persistence_error::version_conflict))
        ++conflicts;
      else
        ++other;
    });
  for (auto& t : threads)
    t.join();
  CHECK(ok == 1);
  CHECK(conflicts == 15);
  CHECK(other == 0);
  CHECK(f.read(1) == vs{1, 2, 3, 4, 5, 6});
}

AETHER_CONFORMANCE_CASE("a batch that conflicts stores none of its events") {
  events_fixture<TestType> f;
  auto res = f.store().save_events({ev(actor, 5), ev(actor, 6), ev(actor, 7)});
  REQUIRE_FALSE(res);
  CHECK(is(res.error(), persistence_error::version_conflict));
  CHECK(f.read(1) == vs{1, 2, 3, 4, 5});
  CHECK(f.store().get_latest_version(actor) == int64_t{5});
}

AETHER_CONFORMANCE_CASE("an undecodable record is reported with its bytes") {
  events_fixture<TestType> f;
  f.corrupt_event(actor, 3, "{not json");
  auto res = f.store().get_events_with_errors(actor, event_range{});
  REQUIRE(res);
  CHECK(versions(res->events) == vs{1, 2, 4, 5});
  REQUIRE(res->errors.size() == 1);
  CHECK(res->errors[0].raw == "{not json");
  CHECK_FALSE(res->errors[0].reason.empty());
  CHECK(res->errors[0].position > 0);
  auto plain = f.store().get_events(actor, 1);
  REQUIRE_FALSE(plain);
  CHECK(is(plain.error(), persistence_error::corrupt_data));
  // A read that does not touch the record still succeeds.
  CHECK(f.read(4) == vs{4, 5});
}

AETHER_CONFORMANCE_CASE("an undecodable snapshot names its version") {
  events_fixture<TestType> f;
  REQUIRE_FALSE(f.store().save_snapshot(snap(actor, 2)));
  f.corrupt_snapshot(actor, 4, "{\"truncated");
  auto res = f.store().get_latest_snapshot(actor);
  REQUIRE_FALSE(res);
  CHECK(is(res.error(), persistence_error::corrupt_data));
  // The version lets recovery fall back to an older snapshot.
  CHECK(get_corrupt_snapshot_version(res.error()) == int64_t{4});
  snapshot_criteria older;
  older.max_version = 3;
  auto fallback = f.store().get_latest_snapshot(actor, older);
  REQUIRE(fallback);
  REQUIRE(*fallback);
  CHECK((*fallback)->version == 2);
}

AETHER_CONFORMANCE_CASE("a snapshot keeps its state's schema version") {
  TestType f;
  auto x = snap(actor, 3);
  x.schema_version = 4;
  REQUIRE_FALSE(f.store().save_snapshot(x));
  REQUIRE_FALSE(f.store().save_snapshot(snap(actor, 5)));
  snapshot_criteria at3;
  at3.max_version = 3;
  auto old = f.other_store().get_latest_snapshot(actor, at3);
  REQUIRE(old);
  REQUIRE(*old);
  CHECK((*old)->schema_version == 4);
  auto latest = f.other_store().get_latest_snapshot(actor);
  REQUIRE(latest);
  REQUIRE(*latest);
  CHECK((*latest)->schema_version == 1);
}

AETHER_CONFORMANCE_CASE("events and snapshots of different actors never mix") {
  TestType f;
  auto& s = f.store();
  for (int64_t v = 1; v <= 3; ++v) {
    REQUIRE(s.save_event(ev("a", v)));
    REQUIRE(s.save_event(ev("b", v)));
    REQUIRE(s.save_event(ev("a.b", v)));
  }
  REQUIRE(s.save_event(ev("a", 4)));
  REQUIRE_FALSE(s.save_snapshot(snap("a", 2)));
  for (std::string id : {"a", "b", "a.b"}) {
    auto res = s.get_events(id, 1);
    REQUIRE(res);
    for (auto& e : *res)
      CHECK(e.actor_id == id);
  }
  CHECK(s.get_latest_version("a") == int64_t{4});
  CHECK(s.get_latest_version("b") == int64_t{3});
  CHECK(s.get_latest_version("a.b") == int64_t{3});
  auto none = s.get_latest_snapshot("b");
  REQUIRE(none);
  CHECK_FALSE(*none);
  REQUIRE_FALSE(s.delete_events_to("b", 3));
  CHECK(versions(*s.get_events("a", 1)) == vs{1, 2, 3, 4});
}

// -- invalid input
// -------------------------------------------------------------

AETHER_CONFORMANCE_CASE("invalid input gets invalid_argument, stores nothing") {
  TestType f;
  auto& s = f.store();
  auto rejected = [&](std::vector<event> batch) {
    auto res = s.save_events(std::move(batch));
    REQUIRE_FALSE(res);
    CHECK(is(res.error(), persistence_error::invalid_argument));
    CHECK_FALSE(describe(res.error()).empty());
    return describe(res.error());
  };
  auto with_actor = [](std::string id) {
    return ev(id, 1);
  };
  CHECK(rejected({with_actor("")}).find("actor_id") != std::string::npos);
  CHECK(rejected({with_actor(std::string(256, 'x'))}).find("255")
        != std::string::npos);
  rejected({with_actor("has space")});
  rejected({with_actor("tab\there")});
  rejected({with_actor("ctl\x01")});
  rejected({with_actor("star*")});
  rejected({with_actor("gt>")});
  rejected({with_actor("caf\xc3\xa9")});
  auto e = ev(actor, 1);
  e.type = "";
  CHECK(rejected({e}).find("type") != std::string::npos);
  e = ev(actor, 1);
  e.data = boost::json::array{1, 2};
  CHECK(rejected({e}).find("data") != std::string::npos);
  e.data = 42;
  rejected({e});
  e = ev(actor, 1);
  e.data = boost::json::object{{"x", std::nan("")}};
  rejected({e});
  e = ev(actor, 0);
  CHECK(rejected({e}).find("version") != std::string::npos);
  rejected({ev(actor, -3)});
  rejected({ev(actor, 1), ev(actor, 3)});
  rejected({ev(actor, 1), ev("other", 2)});
  rejected({});
  e = ev(actor, 1);
  e.data = boost::json::object{{"blob", std::string(1024 * 1024 + 1, 'x')}};
  CHECK(rejected({e}).find("limit") != std::string::npos);
  e = ev(actor, 1);
  boost::json::value* cur = &e.data;
  for (int i = 0; i < 10000; ++i) {
    cur = &cur->as_object()["d"];
    *cur = boost::json::object{};
  }
  rejected({e});
  CHECK(s.get_latest_version(actor) == int64_t{0});
  CHECK(s.get_latest_version("other") == int64_t{0});
  // Reads with an invalid actor id are refused too.
  CHECK(
    is(s.get_latest_version("").error(), persistence_error::invalid_argument));
  CHECK(is(s.get_events("a*", 1).error(), persistence_error::invalid_argument));
  // Snapshots.
  auto bad_snap = [&](actor_snapshot x) {
    auto err = s.save_snapshot(std::move(x));
    CHECK(is(err, persistence_error::invalid_argument));
  };
  auto x = snap("", 1);
  bad_snap(x);
  x = snap(actor, 0);
  bad_snap(x);
  x = snap(actor, 1);
  x.state = boost::json::object{{"blob", std::string(1024 * 1024, 'x')}};
  bad_snap(x);
  auto none = s.get_latest_snapshot(actor);
  REQUIRE(none);
  CHECK_FALSE(*none);
}

// -- queries in the global order ----------------------------------------------

namespace aether::conformance {

inline event tagged(const std::string& actor_id, int64_t version,
                    std::vector<std::string> tags) {
  auto e = ev(actor_id, version);
  e.set_tags(std::move(tags));
  return e;
}

/// "actor:version" of each event, in the order read.
inline std::vector<std::string> names(const std::vector<positioned_event>& xs) {
  std::vector<std::string> out;
  for (auto& x : xs)
    out.push_back(x.ev.actor_id + ":" + std::to_string(x.ev.version));
  return out;
}

using ss = std::vector<std::string>;

/// Reads a query page by page (`page` events each) until it reports the
/// end; checks that positions increase and that `next_after` moves on.
template <class Read>
std::vector<positioned_event>
read_all(Read read, size_t page, int64_t after = 0) {
  std::vector<positioned_event> out;
  for (int guard = 0; guard < 10000; ++guard) {
    auto res = read(after, page);
    REQUIRE(res);
    REQUIRE_FALSE(res->error);
    CHECK(res->events.size() <= page);
    for (auto& x : res->events) {
      CHECK(x.position > after);
      if (!out.empty())
        CHECK(x.position > out.back().position);
      out.push_back(x);
    }
    CHECK(res->next_after >= after);
    if (!res->events.empty())
      CHECK(res->next_after >= res->events.back().position);
    after = res->next_after;
    if (res->at_end)
      return out;
  }
  FAIL("the query never reported its end");
  return out;
}

/// Writes a1, b1, [a2, a3], b2 (tags: a1 x; b1 x,y; a3 y; b2 x).
template <class Backend>
struct order_fixture : Backend {
  order_fixture() {
    auto& s = this->store();
    REQUIRE(s.save_event(tagged("a", 1, {"x"})));
    REQUIRE(s.save_event(tagged("b", 1, {"y", "x", "x"})));
    REQUIRE(s.save_events({ev("a", 2), tagged("a", 3, {"y"})}));
    REQUIRE(s.save_event(tagged("b", 2, {"x"})));
  }
  auto all(size_t page = SIZE_MAX, int64_t after = 0) {
    return read_all(
      [this](int64_t a, size_t n) {
        return this->store().events_by_namespace(a, n);
      },
      page, after);
  }
  auto by_tag(const std::string& tag, size_t page = SIZE_MAX) {
    return read_all(
      [this, tag](int64_t a, size_t n) {
        return this->store().events_by_tag(tag, a, n);
      },
      page);
  }
};

} // namespace aether::conformance

AETHER_CONFORMANCE_CASE("query: every event in the order stored") {
  order_fixture<TestType> f;
  auto& s = f.store();
  auto all = f.all();
  CHECK(names(all) == ss{"a:1", "b:1", "a:2", "a:3", "b:2"});
  auto a1 = s.get_events("a", 1, 1);
  REQUIRE(a1);
  CHECK(all[0].ev == a1->front());
  SECTION("page by page, every page size") {
    for (size_t n : {1, 2, 3, 4})
      CHECK(names(f.all(n)) == names(all));
  }
  SECTION("after a position") {
    CHECK(names(f.all(SIZE_MAX, all[1].position)) == ss{"a:2", "a:3", "b:2"});
    CHECK(f.all(SIZE_MAX, all[4].position).empty());
  }
  SECTION("a count limit cuts the page, not the end") {
    auto page = s.events_by_namespace(0, 2);
    REQUIRE(page);
    CHECK(names(page->events) == ss{"a:1", "b:1"});
    CHECK(page->next_after >= all[1].position);
    CHECK(page->next_after < all[2].position);
    CHECK_FALSE(page->at_end);
    auto none = s.events_by_namespace(0, 0);
    REQUIRE(none);
    CHECK(none->events.empty());
    CHECK(none->next_after == 0);
  }
  SECTION("the highest position is at or after the last event") {
    auto head = s.highest_position();
    REQUIRE(head);
    CHECK(*head >= all.back().position);
    auto after = s.events_by_namespace(*head, 100);
    REQUIRE(after);
    CHECK(after->events.empty());
    CHECK(after->at_end);
  }
  SECTION("a new event comes after the end read before") {
    auto end = s.events_by_namespace(0, 100);
    REQUIRE(end);
    REQUIRE(end->at_end);
    REQUIRE(s.save_event(ev("c", 1)));
    auto next = s.events_by_namespace(end->next_after, 100);
    REQUIRE(next);
    CHECK(names(next->events) == ss{"c:1"});
  }
  SECTION("another instance on the same data reads the same order") {
    auto other = read_all(
      [&f](int64_t a, size_t n) {
        return f.other_store().events_by_namespace(a, n);
      },
      2);
    CHECK(names(other) == names(all));
    for (size_t i = 0; i < other.size(); ++i)
      CHECK(other[i].position == all[i].position);
  }
}

AETHER_CONFORMANCE_CASE("query: events by tag") {
  order_fixture<TestType> f;
  auto& s = f.store();
  CHECK(names(f.by_tag("x")) == ss{"a:1", "b:1", "b:2"});
  CHECK(names(f.by_tag("y")) == ss{"b:1", "a:3"});
  CHECK(names(f.by_tag("x", 1)) == ss{"a:1", "b:1", "b:2"});
  CHECK(f.by_tag("z").empty());
  auto b1 = s.get_events("b", 1, 1);
  REQUIRE(b1);
  CHECK(b1->front().tags() == ss{"x", "y"});
  SECTION("positions are those of the global order") {
    auto all = f.all();
    auto xs = f.by_tag("x");
    CHECK(xs[1].position == all[1].position);
    CHECK(xs[2].position == all[4].position);
  }
  SECTION("a tag read to its end resumes after newer untagged events") {
    auto end = s.events_by_tag("y", 0, 100);
    REQUIRE(end);
    REQUIRE(end->at_end);
    REQUIRE(s.save_event(ev("c", 1)));
    REQUIRE(s.save_event(tagged("c", 2, {"y"})));
    auto next = s.events_by_tag("y", end->next_after, 100);
    REQUIRE(next);
    CHECK(names(next->events) == ss{"c:2"});
  }
  SECTION("a bad tag is refused, in a query and in an append") {
    auto long_tag = std::string(129, 't');
    for (auto& bad : ss{"", "a,b", "has space", long_tag}) {
      auto res = s.events_by_tag(bad, 0, 10);
      REQUIRE_FALSE(res);
      CHECK(is(res.error(), persistence_error::invalid_argument));
    }
    for (auto& bad : ss{"", ",", "a,,b", "x,has space", long_tag}) {
      auto e = ev("c", 1);
      e.metadata[metadata_keys::tags] = bad;
      auto stored = s.save_event(e);
      REQUIRE_FALSE(stored);
      CHECK(describe(stored.error()).find("metadata[tags]")
            != std::string::npos);
    }
    CHECK(s.get_latest_version("c") == int64_t{0});
    CHECK(f.all().size() == 5);
  }
}

AETHER_CONFORMANCE_CASE("query: tags set by hand are stored sorted, once") {
  TestType f;
  auto& s = f.store();
  auto e = ev("t", 1);
  e.metadata[metadata_keys::tags] = "zeta,alpha,zeta";
  REQUIRE(s.save_event(e));
  auto stored = s.get_events("t", 1);
  REQUIRE(stored);
  CHECK(stored->front().get_metadata(metadata_keys::tags) == "alpha,zeta");
  for (std::string tag : {"alpha", "zeta"}) {
    auto page = s.events_by_tag(tag, 0, 10);
    REQUIRE(page);
    CHECK(names(page->events) == ss{"t:1"});
  }
}

AETHER_CONFORMANCE_CASE(
  "query: deleted events are gone, positions not reused") {
  order_fixture<TestType> f;
  auto& s = f.store();
  auto before = f.all();
  REQUIRE_FALSE(s.delete_events_to("a", 1));
  CHECK(names(f.all()) == ss{"b:1", "a:2", "a:3", "b:2"});
  CHECK(names(f.by_tag("x")) == ss{"b:1", "b:2"});
  // Every event of b, the newest included.
  REQUIRE_FALSE(s.delete_events_to("b", 2));
  CHECK(names(f.all()) == ss{"a:2", "a:3"});
  CHECK(names(f.by_tag("x")).empty());
  REQUIRE(s.save_event(ev("b", 3)));
  auto after = f.all();
  REQUIRE(after.size() == 3);
  CHECK(after.back().ev.actor_id == "b");
  CHECK(after.back().position > before.back().position);
}

AETHER_CONFORMANCE_CASE("query: a record that does not decode stops the read") {
  TestType f;
  auto& s = f.store();
  for (int64_t v = 1; v <= 3; ++v)
    REQUIRE(s.save_event(ev(actor, v)));
  f.corrupt_event(actor, 2, "{not json");
  auto page = s.events_by_namespace(0, 100);
  REQUIRE(page);
  CHECK(versions([&] {
          std::vector<event> xs;
          for (auto& x : page->events)
            xs.push_back(x.ev);
          return xs;
        }())
        == vs{1});
  REQUIRE(page->error);
  CHECK(page->error->raw == "{not json");
  CHECK_FALSE(page->error->reason.empty());
  CHECK(page->next_after < static_cast<int64_t>(page->error->position));
  CHECK_FALSE(page->at_end);
  // Reading it again stops there again; reading after it skips it.
  auto again = s.events_by_namespace(page->next_after, 100);
  REQUIRE(again);
  CHECK(again->events.empty());
  REQUIRE(again->error);
  CHECK(again->error->position == page->error->position);
  auto rest = s.events_by_namespace(static_cast<int64_t>(page->error->position),
                                    100);
  REQUIRE(rest);
  REQUIRE(rest->events.size() == 1);
  CHECK(rest->events[0].ev.version == 3);
  CHECK(rest->at_end);
}

AETHER_CONFORMANCE_CASE("query: two concurrent writers, a reader sees each "
                        "event once in position order") {
  TestType f;
  constexpr int per_writer = 150;
  // No Catch assertion off the main thread (Catch is not thread-safe).
  std::atomic<int> write_failures{0};
  auto write = [&write_failures](event_store& s, std::string id) {
    for (int64_t v = 1; v <= per_writer; v += 3) {
      std::vector<event> batch;
      for (int64_t k = v; k < v + 3 && k <= per_writer; ++k)
        batch.push_back(tagged(id, k, {k % 2 == 0 ? "even" : "odd"}));
      if (!s.save_events(std::move(batch)))
        ++write_failures;
    }
  };
  std::thread w1{[&] {
    write(f.store(), "w1");
  }};
  std::thread w2{[&] {
    write(f.other_store(), "w2");
  }};
  std::vector<positioned_event> seen;
  int64_t after = 0;
  bool read_failed = false;
  bool out_of_order = false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{30};
  while (seen.size() < 2 * per_writer
         && std::chrono::steady_clock::now() < deadline) {
    auto page = f.store().events_by_namespace(after, 7);
    if (!page || page->error) {
      read_failed = true;
      break;
    }
    for (auto& x : page->events) {
      out_of_order = out_of_order || x.position <= after;
      seen.push_back(x);
    }
    after = page->next_after;
  }
  w1.join();
  w2.join();
  REQUIRE(write_failures == 0);
  REQUIRE_FALSE(read_failed);
  CHECK_FALSE(out_of_order);
  REQUIRE(seen.size() == 2 * per_writer);
  std::map<std::string, int64_t> last;
  for (size_t i = 0; i < seen.size(); ++i) {
    if (i > 0)
      CHECK(seen[i].position > seen[i - 1].position);
    auto& v = last[seen[i].ev.actor_id];
    CHECK(seen[i].ev.version == v + 1);
    v = seen[i].ev.version;
  }
  CHECK(last["w1"] == per_writer);
  CHECK(last["w2"] == per_writer);
  // Nothing more, and a complete read agrees.
  auto rest = f.store().events_by_namespace(after, 100);
  REQUIRE(rest);
  CHECK(rest->events.empty());
  CHECK(names(read_all(
          [&f](int64_t a, size_t n) {
            return f.store().events_by_namespace(a, n);
          },
          50))
        == names(seen));
  CHECK(read_all(
          [&f](int64_t a, size_t n) {
            return f.store().events_by_tag("even", a, n);
          },
          11)
          .size()
        == per_writer);
}

AETHER_CONFORMANCE_CASE("query: live, from catching up to new events without "
                        "a gap or a duplicate") {
  order_fixture<TestType> f;
  std::shared_ptr<event_store> store{&f.store(), [](event_store*) {}};
  struct collected {
    std::mutex mtx;
    std::vector<positioned_event> events;
    size_t size() {
      std::lock_guard<std::mutex> guard{mtx};
      return events.size();
    }
  };
  collected all;
  collected xs;
  auto collect = [](collected& c) {
    return [&c](const query_page& page, int64_t) {
      std::lock_guard<std::mutex> guard{c.mtx};
      for (auto& x : page.events)
        c.events.push_back(x);
      return live_query::next_read{page.next_after};
    };
  };
  live_query::options opts;
  opts.batch_size = 2;
  opts.poll_interval = std::chrono::milliseconds{5};
  live_query q1{store, event_query::all(), 0, opts, collect(all)};
  live_query q2{store, event_query::by_tag("x"), 0, opts, collect(xs)};
  auto wait_for = [](auto pred) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{30};
    while (!pred() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds{2});
    return pred();
  };
  REQUIRE(wait_for([&] {
    return q1.caught_up() && all.size() == 5;
  }));
  REQUIRE(wait_for([&] {
    return q2.caught_up() && xs.size() == 3;
  }));
  constexpr int n = 30;
  std::atomic<int> write_failures{0};
  auto write = [&write_failures](event_store& s, std::string id) {
    for (int64_t v = 1; v <= n; ++v)
      if (!s.save_event(tagged(id, v, {v % 3 == 0 ? "x" : "other"})))
        ++write_failures;
  };
  std::thread w1{[&] {
    write(f.other_store(), "c");
  }};
  write(f.store(), "d");
  w1.join();
  REQUIRE(write_failures == 0);
  REQUIRE(wait_for([&] {
    return all.size() >= 5 + 2 * n;
  }));
  REQUIRE(wait_for([&] {
    return xs.size() >= 3 + 2 * n / 3;
  }));
  q1.stop();
  q2.stop();
  CHECK(all.size() == 5 + 2 * n);
  CHECK(xs.size() == 3 + 2 * n / 3);
  auto complete = f.all();
  CHECK(names(all.events) == names(complete));
  for (size_t i = 0; i < complete.size() && i < all.events.size(); ++i)
    CHECK(all.events[i].position == complete[i].position);
  CHECK(names(xs.events) == names(f.by_tag("x")));
  CHECK(q1.position() >= complete.back().position);
  CHECK(q1.read_failures() == 0);
}
