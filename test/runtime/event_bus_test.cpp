#include "actor_fixture.hpp"
#include "aether/persistence/memory_store.hpp"
#include "aether/runtime/event_bus.hpp"
#include "aether/runtime/event_follower.hpp"
#include "aether/runtime/event_stored.hpp"
#include "aether/runtime/subject_pattern.hpp"
#include "eventually.hpp"
#include "tally.hpp"

#include <atomic>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

using namespace aether;
using namespace aether::test;

namespace {

event ev(const std::string& type, const std::string& actor, int64_t version) {
  return make_event(type, actor, version, boost::json::object{{"n", version}});
}

// Collects what a callback subscription receives.
struct inbox {
  std::vector<std::pair<std::string, event>> got;
  event_bus::callback fn() {
    return [this](const bus_event& e) {
      got.emplace_back(e.ns(), e.event());
    };
  }
  std::vector<std::string> types() const {
    std::vector<std::string> xs;
    for (auto& x : got)
      xs.push_back(x.second.type);
    return xs;
  }
};

struct bus_fixture : actor_fixture {
  std::shared_ptr<event_bus> bus = std::make_shared<event_bus>(sys);

  event_bus::subscription_id sub(const std::string& pattern, inbox& box,
                                 subscription_options opts = {}) {
    auto id = bus->subscribe(pattern, box.fn(), std::move(opts));
    REQUIRE(id);
    return *id;
  }

  ~bus_fixture() override {
    ctx.bus.reset();
    bus.reset(); // stops the callback actors (run by the base destructor)
  }
};

} // namespace

TEST_CASE("patterns: literal, * and > tokens, validation") {
  auto p = [](const char* x) {
    auto r = subject_pattern::parse(x);
    REQUIRE(r);
    return *r;
  };
  CHECK(p("orders").matches("orders"));
  CHECK_FALSE(p("orders").matches("orders.eu"));
  CHECK_FALSE(p("orders").matches("order"));
  CHECK(p("orders.*").matches("orders.eu"));
  CHECK_FALSE(p("orders.*").matches("orders"));
  CHECK_FALSE(p("orders.*").matches("orders.eu.x"));
  CHECK(p("orders.>").matches("orders.eu"));
  CHECK(p("orders.>").matches("orders.eu.x"));
  CHECK_FALSE(p("orders.>").matches("orders"));
  CHECK(p(">").matches("a.b.c"));
  CHECK(p("*.eu").matches("orders.eu"));
  CHECK_FALSE(p("*.eu").matches("orders.us"));
  // A partial token is a literal, as in NATS.
  CHECK(p("tenant-*").literal());
  CHECK(p("tenant-*").matches("tenant-*"));
  CHECK_FALSE(p("tenant-*").matches("tenant-a"));
  CHECK_FALSE(p("a.*").literal());
  for (auto bad : {"", ".", "a..b", ".a", "a.", "a.>.b", "a b", "a\tb", "a\x01",
                   "caf\xc3\xa9"}) {
    auto r = subject_pattern::parse(bad);
    REQUIRE_FALSE(r);
    CHECK(is(r.error(), persistence_error::invalid_argument));
    CHECK(describe(r.error()).find("pattern") != std::string::npos);
  }
  CHECK(validate_namespace("orders.eu") == caf::none);
  CHECK(describe(validate_namespace("orders.*")).find("wildcards")
        != std::string::npos);
  CHECK(describe(validate_namespace(std::string(256, 'a'))).find("255")
        != std::string::npos);
}

TEST_CASE_METHOD(bus_fixture, "exact, * and > subscriptions; isolation") {
  inbox exact, star, tail, other;
  sub("orders.eu", exact);
  sub("orders.*", star);
  sub("orders.>", tail);
  sub("billing", other);
  REQUIRE(bus->publish("orders.eu", ev("placed", "o-1", 1)) == caf::none);
  REQUIRE(bus->publish("orders.eu.de", ev("placed", "o-2", 1)) == caf::none);
  REQUIRE(bus->publish("orders", ev("placed", "o-3", 1)) == caf::none);
  run();
  REQUIRE(exact.got.size() == 1);
  CHECK(exact.got[0].first == "orders.eu");
  CHECK(exact.got[0].second.actor_id == "o-1");
  REQUIRE(star.got.size() == 1);
  CHECK(star.got[0].second.actor_id == "o-1");
  REQUIRE(tail.got.size() == 2);
  CHECK(tail.got[1].second.actor_id == "o-2");
  CHECK(other.got.empty());
}

TEST_CASE_METHOD(bus_fixture, "filters: event types and actor pattern") {
  inbox types, actors, both;
  subscription_options t;
  t.filter.event_types = {"placed", "shipped"};
  sub("orders", types, t);
  subscription_options a;
  a.filter.actor_pattern = "eu.*";
  sub("orders", actors, a);
  subscription_options b = t;
  b.filter.actor_pattern = "eu.*";
  sub("orders", both, b);
  bus->publish("orders", ev("placed", "eu.1", 1));
  bus->publish("orders", ev("cancelled", "eu.1", 2));
  bus->publish("orders", ev("shipped", "us.1", 1));
  run();
  CHECK(types.types() == std::vector<std::string>{"placed", "shipped"});
  CHECK(actors.types() == std::vector<std::string>{"placed", "cancelled"});
  CHECK(both.types() == std::vector<std::string>{"placed"});
  subscription_options bad;
  bad.filter.actor_pattern = "eu..x";
  auto r = bus->subscribe("orders", inbox{}.fn(), bad);
  REQUIRE_FALSE(r);
  CHECK(describe(r.error()).find("filter.actor_pattern") != std::string::npos);
}

TEST_CASE_METHOD(bus_fixture, "a full buffer drops and counts") {
  inbox box;
  subscription_options o;
  o.buffer = 2;
  auto id = sub("orders", box, o);
  for (int64_t v = 1; v <= 5; ++v)
    bus->publish("orders", ev("placed", "o", v));
  // Nothing ran yet: two deliveries are in flight, three were dropped.
  auto s = bus->stats(id);
  REQUIRE(s);
  CHECK(s->in_flight == 2);
  CHECK(s->delivered == 2);
  CHECK(s->dropped == 3);
  run();
  CHECK(box.got.size() == 2);
  CHECK(bus->stats(id)->in_flight == 0);
  // Room again.
  bus->publish("orders", ev("placed", "o", 6));
  run();
  CHECK(box.got.size() == 3);
  auto m = bus->metrics();
  CHECK(m["orders"].published == 6);
  CHECK(m["orders"].delivered == 3);
  CHECK(m["orders"].dropped == 3);
}

TEST_CASE_METHOD(bus_fixture, "a burst to a callback arrives in order, each "
                              "slot freed once its call returned") {
  // The callback's actor takes a burst in one message; the buffer still
  // counts every event until its own call is over.
  std::vector<int64_t> versions;
  std::vector<size_t> in_flight;
  event_bus::subscription_id id = 0;
  auto got = bus->subscribe("orders", [&](const bus_event& e) {
    versions.push_back(e.event().version);
    in_flight.push_back(bus->stats(id)->in_flight);
  });
  REQUIRE(got);
  id = *got;
  for (int64_t v = 1; v <= 100; ++v)
    bus->publish("orders", ev("placed", "o", v));
  CHECK(bus->stats(id)->in_flight == 100);
  run();
  REQUIRE(versions.size() == 100);
  for (size_t i = 0; i < versions.size(); ++i) {
    CHECK(versions[i] == static_cast<int64_t>(i) + 1);
    CHECK(in_flight[i] == 100 - i);
  }
  CHECK(bus->stats(id)->in_flight == 0);
  CHECK(bus->stats(id)->delivered == 100);
}

TEST_CASE_METHOD(bus_fixture, "unsubscribe, metrics and Prometheus text") {
  inbox box;
  auto id = sub("orders.*", box);
  CHECK(bus->metrics()["orders.*"].subscriptions == 1);
  bus->publish("orders.eu", ev("placed", "o", 1));
  run();
  CHECK(bus->unsubscribe(id));
  CHECK_FALSE(bus->unsubscribe(id));
  bus->publish("orders.eu", ev("placed", "o", 2));
  run();
  CHECK(box.got.size() == 1);
  CHECK(bus->publish("orders.*", ev("placed", "o", 3)) != caf::none);
  CHECK_FALSE(bus->subscribe("a..b", box.fn()));
  auto m = bus->metrics();
  CHECK(m["orders.*"].subscriptions == 0);
  CHECK(m["orders.eu"].published == 2);
  CHECK(m["orders.eu"].delivered == 1);
  CHECK(m["(invalid)"].publish_errors == 1);
  CHECK(m["(invalid)"].subscribe_errors == 1);
  auto text = bus->to_prometheus();
  CHECK(text.find("aether_bus_published_total{namespace=\"orders.eu\"} 2")
        != std::string::npos);
  CHECK(text.find("aether_bus_subscriptions{namespace=\"orders.*\"} 0")
        != std::string::npos);
  ctx.with_bus(bus, "orders.eu");
  auto all = ctx.prometheus();
  CHECK(all.find("aether_events_persisted_total") != std::string::npos);
  CHECK(all.find("aether_bus_delivered_total") != std::string::npos);
}

TEST_CASE_METHOD(bus_fixture, "actor subscribers; ended with the actor") {
  std::vector<int64_t> got;
  auto a = sys.spawn([&](caf::event_based_actor*) -> caf::behavior {
    return {
      [&](bus_atom, const bus_event& e) {
        got.push_back(e.event().version);
      },
    };
  });
  auto id = bus->subscribe("orders", a);
  REQUIRE(id);
  bus->publish("orders", ev("placed", "o", 1));
  run();
  CHECK(got == std::vector<int64_t>{1});
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  run();
  CHECK_FALSE(bus->stats(*id));
  CHECK(bus->metrics()["orders"].subscriptions == 0);
}

TEST_CASE_METHOD(bus_fixture, "persist publishes the events and EventStored") {
  inbox box;
  sub("bank", box);
  ctx.with_bus(bus, "bank");
  auto a = spawn_actor<tally_actor>("acc-1", ctx, persistence_options{});
  run();
  auto r = ask<int64_t>(a, add_atom::value, int64_t{5});
  REQUIRE(r);
  run();
  REQUIRE(box.types() == std::vector<std::string>{"added", "EventStored"});
  auto& stored = box.got[0].second;
  auto info = read_event_stored(box.got[1].second);
  REQUIRE(info);
  CHECK(info->event_id == stored.id);
  CHECK(info->actor_id == "acc-1");
  CHECK(info->version == 1);
  CHECK(info->event_type == "added");
  CHECK(info->ns == "bank");
  CHECK(info->time == stored.time);
  // A conflict publishes nothing: another writer stored version 2.
  REQUIRE(memory->save_event(ev("added", "acc-1", 2)));
  auto c = ask<int64_t>(a, add_atom::value, int64_t{1});
  REQUIRE_FALSE(c);
  CHECK(is(c.error(), persistence_error::version_conflict));
  run();
  CHECK(box.got.size() == 2);
  // After re-recovering, the next persist publishes version 3.
  REQUIRE(ask<int64_t>(a, add_atom::value, int64_t{1}));
  run();
  REQUIRE(box.got.size() == 4);
  CHECK(box.got[3].second.version == 3);
}

TEST_CASE("EventStored: malformed notifications are refused") {
  auto good = make_event_stored("bank", ev("added", "a", 3));
  REQUIRE(read_event_stored(good));
  auto broken = [&](auto change) {
    auto n = good;
    change(n);
    auto r = read_event_stored(n);
    REQUIRE_FALSE(r);
    return describe(r.error());
  };
  CHECK(broken([](event& n) {
          n.type = "Other";
        }).find("eventType")
        != std::string::npos);
  CHECK(broken([](event& n) {
          n.data = boost::json::array{};
        }).find("data")
        != std::string::npos);
  CHECK(broken([](event& n) {
          n.version = 4;
        }).find("data.version")
        != std::string::npos);
  CHECK(broken([](event& n) {
          n.actor_id = "b";
        }).find("data.actorId")
        != std::string::npos);
  CHECK(broken([](event& n) {
          n.data.as_object()["timestamp"] = "yesterday";
        }).find("data.timestamp")
        != std::string::npos);
  CHECK(broken([](event& n) {
          n.data.as_object().erase("eventId");
        }).find("data.eventId")
        != std::string::npos);
}

TEST_CASE_METHOD(bus_fixture, "a follower fills gaps from the store") {
  std::vector<int64_t> seen;
  auto f = event_follower::start(bus, "bank", ctx,
                                 [&](const std::string&, const event& e) {
                                   seen.push_back(e.version);
                                 });
  REQUIRE(f);
  auto& st = (*f)->statistics();
  // Stored 1..3, but only 3 reaches the bus: the history is read first.
  for (int64_t v = 1; v <= 3; ++v)
    REQUIRE(memory->save_event(ev("added", "acc", v)));
  bus->publish("bank", ev("added", "acc", 3));
  run();
  CHECK(seen == std::vector<int64_t>{1, 2, 3});
  CHECK(st.gaps == 0);
  // 4 is lost on the way, 5 arrives: a gap, closed from the store.
  REQUIRE(memory->save_event(ev("added", "acc", 4)));
  REQUIRE(memory->save_event(ev("added", "acc", 5)));
  bus->publish("bank", ev("added", "acc", 5));
  run();
  CHECK(seen == std::vector<int64_t>{1, 2, 3, 4, 5});
  CHECK(st.gaps == 1);
  // A duplicate is ignored; a notification ahead of us drives a catch-up.
  bus->publish("bank", ev("added", "acc", 5));
  REQUIRE(memory->save_event(ev("added", "acc", 6)));
  bus->publish("bank", make_event_stored("bank", ev("added", "acc", 6)));
  run();
  CHECK(seen == std::vector<int64_t>{1, 2, 3, 4, 5, 6});
  CHECK(st.duplicates == 1);
  CHECK(st.gaps == 2);
  CHECK(st.caught_up == 6); // every event after a gap is read from the store
  CHECK(st.delivered == 6);
  CHECK(st.lost == 0);
}

TEST_CASE_METHOD(bus_fixture, "a follower hands over events in their "
                              "current shape") {
  // "added" v1 had `amt`; v2 has `n`. "noted" (retired) is dropped.
  auto u = event_upcasters::make({
    {"added", 1,
     [](const event& e) {
       auto out = e;
       out.data = {{"n", e.data.at("amt")}};
       return std::vector<event>{out};
     }},
    {"noted", 1,
     [](const event&) {
       return std::vector<event>{};
     }},
  });
  REQUIRE(u);
  follower_options fo;
  fo.upcasters = *u;
  std::vector<std::string> seen;
  auto f = event_follower::start(
    bus, "bank", ctx,
    [&](const std::string&, const event& e) {
      seen.push_back(e.type + " " + boost::json::serialize(e.data) + " "
                     + e.get_metadata("schemaVersion"));
    },
    fo);
  REQUIRE(f);
  auto old = [](std::string type, int64_t v, boost::json::object data) {
    return make_event(std::move(type), "acc", v, std::move(data));
  };
  // 1 and 2 only in the store (read at the first sight of 3); 3 and a
  // broken 4 (a newer version than the code knows) on the bus.
  REQUIRE(memory->save_event(old("added", 1, {{"amt", 5}})));
  REQUIRE(memory->save_event(old("noted", 2, {})));
  REQUIRE(memory->save_event(old("added", 3, {{"amt", 7}})));
  bus->publish("bank", old("added", 3, {{"amt", 7}}));
  auto newer = old("added", 4, {{"n", 1}});
  newer.set_metadata("schemaVersion", "9");
  REQUIRE(memory->save_event(newer));
  bus->publish("bank", newer);
  run();
  CHECK(seen
        == std::vector<std::string>{"added {\"n\":5} 2", "added {\"n\":7} 2"});
  CHECK((*f)->statistics().upcast_failures == 1);
}

TEST_CASE("block policy: the publisher waits for room, then drops") {
  caf::actor_system_config cfg;
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  auto bus = std::make_shared<event_bus>(sys);
  std::atomic<int> n{0};
  subscription_options o;
  o.buffer = 1;
  o.overflow = overflow_policy::block;
  o.max_block = std::chrono::seconds{10};
  auto id = bus->subscribe(
    "x",
    [&](const bus_event&) {
      ++n;
    },
    o);
  REQUIRE(id);
  for (int64_t v = 1; v <= 200; ++v)
    bus->publish("x", ev("t", "a", v));
  eventually([&] {
    return n == 200;
  });
  CHECK(n == 200);
  CHECK(bus->stats(*id)->dropped == 0);
  // A subscriber that holds on to its deliveries: the wait ends after
  // max_block and the event is dropped and counted.
  std::vector<bus_event> kept;
  std::mutex m;
  subscription_options h = o;
  h.max_block = std::chrono::milliseconds{20};
  auto held = bus->subscribe(
    "y",
    [&](const bus_event& e) {
      std::lock_guard<std::mutex> guard{m};
      kept.push_back(e);
    },
    h);
  REQUIRE(held);
  bus->publish("y", ev("t", "a", 1));
  bus->publish("y", ev("t", "a", 2));
  CHECK(bus->stats(*held)->dropped == 1);
  {
    std::lock_guard<std::mutex> guard{m};
    kept.clear();
  }
  bus.reset();
}

// A handler whose first call blocks until released; it notes a call that
// runs after its owner said the subscription is closed.
struct blocking_handler {
  std::atomic<bool> entered{false}, release{false}, closed{false};
  std::atomic<bool> late{false};
  std::atomic<int> calls{0}, finished{0};

  void operator()() {
    ++calls;
    entered = true;
    eventually([this] {
      return release.load();
    });
    if (closed)
      late = true; // called after the close returned
    ++finished;
  }

  // Closes (`close`) from another thread while the first call runs, then
  // lets that call end. True if no call ran after `close` returned.
  bool closes_synchronously(const std::function<void()>& close) {
    REQUIRE(eventually([this] {
      return entered.load();
    }));
    std::atomic<bool> closing{false};
    std::thread t{[&] {
      closing = true;
      close();
      closed = true;
    }};
    while (!closing)
      std::this_thread::yield();
    // Give a wrong close the moment to return early, then let the running
    // call end (calls made while a right close waits are fine).
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
    release = true;
    t.join();
    eventually([this] {
      return finished > 0;
    });
    return !late;
  }
};

TEST_CASE("after unsubscribe returns, a callback is neither running nor "
          "called again") {
  caf::actor_system_config cfg;
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  auto bus = std::make_shared<event_bus>(sys);
  SECTION("unsubscribe waits for the running call") {
    blocking_handler h;
    auto id = bus->subscribe("x", [&](const bus_event&) {
      h();
    });
    REQUIRE(id);
    for (int64_t v = 1; v <= 50; ++v)
      bus->publish("x", ev("t", "a", v));
    CHECK(h.closes_synchronously([&] {
      CHECK(bus->unsubscribe(*id));
    }));
    auto after = h.calls.load();
    // Events still queued, and new ones, never reach the callback.
    for (int64_t v = 51; v <= 60; ++v)
      bus->publish("x", ev("t", "a", v));
    bus.reset();
    CHECK(h.calls == after);
    CHECK(after < 50);
  }
  SECTION("a destroyed follower's handler is neither running nor called") {
    auto ctx = store_context::make(sys, std::make_shared<memory_store>());
    blocking_handler h;
    auto f = event_follower::start(bus, "x", ctx,
                                   [&](const std::string&, const event&) {
                                     h();
                                   });
    REQUIRE(f);
    for (int64_t v = 1; v <= 50; ++v)
      bus->publish("x", ev("t", "a", v));
    CHECK(h.closes_synchronously([&] {
      f->reset();
    }));
    bus.reset();
    CHECK(h.calls < 50);
  }
  SECTION("a callback may end its own subscription") {
    std::atomic<int> calls{0};
    std::atomic<bool> ended{false};
    event_bus::subscription_id self = 0;
    std::mutex m;
    std::unique_lock<std::mutex> hold{m}; // `self` is set before the call
    auto id = bus->subscribe("x", [&](const bus_event&) {
      std::lock_guard<std::mutex> guard{m};
      ++calls;
      ended = bus->unsubscribe(self);
    });
    REQUIRE(id);
    self = *id;
    hold.unlock();
    for (int64_t v = 1; v <= 20; ++v)
      bus->publish("x", ev("t", "a", v));
    CHECK(eventually([&] {
      return ended.load();
    }));
    bus.reset();
    CHECK(calls == 1);
  }
}

namespace {

// Records what the bus tells its listeners (as the NATS bridge keeps one
// NATS subscription per pattern).
struct recording_listener : bus_listener {
  std::mutex mtx;
  std::set<std::string> patterns;

  void pattern_added(const std::string& p) override {
    std::lock_guard<std::mutex> guard{mtx};
    patterns.insert(p);
  }
  void pattern_removed(const std::string& p) override {
    std::lock_guard<std::mutex> guard{mtx};
    patterns.erase(p);
  }
  void published(const std::string&,
                 const std::shared_ptr<const event>&) override {
    // nop
  }
  bool has(const std::string& p) {
    std::lock_guard<std::mutex> guard{mtx};
    return patterns.count(p) > 0;
  }
};

} // namespace

TEST_CASE("a new subscriber racing the last unsubscriber keeps its pattern") {
  // Issue 12 item 13: the last unsubscriber's "removed" could reach the
  // listeners after a new subscriber's "added", leaving the new subscriber
  // without a NATS subscription.
  aether::config cfg;
  caf::actor_system sys{cfg};
  auto bus = std::make_shared<event_bus>(sys);
  recording_listener listener;
  bus->add_listener(&listener);
  auto a = sys.spawn([](caf::event_based_actor*) -> caf::behavior {
    return {[](bus_atom, const bus_event&) {}};
  });
  std::atomic<int> violations{0};
  std::atomic<int> refused{0};
  auto churn = [&] {
    for (int i = 0; i < 20000; ++i) {
      auto id = bus->subscribe("orders.*", a);
      if (!id) {
        ++refused;
        continue;
      }
      // While this subscription exists, the listener must have the pattern.
      if (!listener.has("orders.*"))
        ++violations;
      std::this_thread::yield();
      if (!listener.has("orders.*"))
        ++violations;
      bus->unsubscribe(*id);
    }
  };
  std::thread t1{churn};
  std::thread t2{churn};
  t1.join();
  t2.join();
  CHECK(refused == 0);
  CHECK(violations == 0);
  CHECK_FALSE(listener.has("orders.*")); // nobody subscribes any more
  bus->remove_listener(&listener);
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(bus_fixture, "a follower reads a long tail in batches") {
  std::vector<int64_t> seen;
  follower_options o;
  o.catch_up_batch = 100;
  auto f = event_follower::start(
    bus, "bank", ctx,
    [&](const std::string&, const event& e) {
      seen.push_back(e.version);
    },
    o);
  REQUIRE(f);
  for (int64_t v = 1; v <= 1050; ++v)
    REQUIRE(memory->save_event(ev("added", "long", v)));
  bus->publish("bank", ev("added", "long", 1050));
  run();
  REQUIRE(seen.size() == 1050);
  for (size_t i = 0; i < seen.size(); ++i)
    CHECK(seen[i] == static_cast<int64_t>(i + 1));
  CHECK((*f)->statistics().read_failures == 0);
}

TEST_CASE_METHOD(bus_fixture, "a follower forgets idle actors within its "
                              "bound and never hands an event over twice") {
  std::map<std::string, std::vector<int64_t>> seen;
  follower_options o;
  o.max_tracked_actors = 10;
  auto f = event_follower::start(
    bus, "bank", ctx,
    [&](const std::string&, const event& e) {
      seen[e.actor_id].push_back(e.version);
    },
    o);
  REQUIRE(f);
  for (int64_t v = 1; v <= 3; ++v) {
    for (int a = 0; a < 30; ++a) {
      auto id = "acc-" + std::to_string(a);
      auto e = ev("added", id, v);
      REQUIRE(memory->save_event(e));
      bus->publish("bank", e);
    }
    run();
  }
  CHECK((*f)->statistics().evicted > 0);
  CHECK((*f)->statistics().duplicates == 0);
  for (int a = 0; a < 30; ++a) {
    auto id = "acc-" + std::to_string(a);
    CAPTURE(id);
    CHECK(seen[id] == std::vector<int64_t>{1, 2, 3});
  }
}

TEST_CASE_METHOD(bus_fixture, "a follower refuses a pattern spanning "
                              "namespaces without a store per namespace") {
  auto handler = [](const std::string&, const event&) {};
  auto refused = event_follower::start(bus, "bank.*", ctx, handler);
  REQUIRE_FALSE(refused);
  CHECK(is(refused.error(), persistence_error::invalid_argument));
  CHECK(describe(refused.error()).find("store_for") != std::string::npos);
  // With a store per namespace, each namespace is read from its own.
  auto other = std::make_shared<memory_store>();
  follower_options o;
  o.store_for = [&](const std::string& ns) -> std::shared_ptr<event_store> {
    return ns == "bank.eu" ? std::static_pointer_cast<event_store>(other)
                           : std::static_pointer_cast<event_store>(memory);
  };
  std::vector<std::pair<std::string, int64_t>> seen;
  auto f = event_follower::start(
    bus, "bank.*", ctx,
    [&](const std::string& ns, const event& e) {
      seen.emplace_back(ns, e.data.at("n").as_int64());
    },
    o);
  REQUIRE(f);
  auto in_eu = make_event("added", "acc", 1, boost::json::object{{"n", 100}});
  auto in_us = make_event("added", "acc", 1, boost::json::object{{"n", 200}});
  REQUIRE(other->save_event(in_eu));
  REQUIRE(memory->save_event(in_us));
  bus->publish("bank.eu", make_event_stored("bank.eu", in_eu));
  bus->publish("bank.us", make_event_stored("bank.us", in_us));
  run();
  std::sort(seen.begin(), seen.end());
  CHECK(seen
        == std::vector<std::pair<std::string, int64_t>>{{"bank.eu", 100},
                                                        {"bank.us", 200}});
}
