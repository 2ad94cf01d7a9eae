// Passivation and activation on demand: the bookkeeping on its own, then
// the registry step by step on CAF's test_coordinator (idle timeout, LRU
// order under the count limit, the memory budget, messages during a
// passivation, snapshots on passivation), then in real time.

#include "actor_fixture.hpp"
#include "aether/runtime/activation_table.hpp"
#include "aether/runtime/actor_registry.hpp"
#include "eventually.hpp"
#include "parse_args.hpp"
#include "tally.hpp"

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <map>
#include <sstream>
#include <string>
#include <vector>

using namespace aether;
using namespace aether::test;
using namespace std::chrono_literals;

namespace {

using ids = std::vector<std::string>;

activation_table::time_point at(int seconds) {
  return activation_table::time_point{} + std::chrono::seconds{seconds};
}

passivation_options limits(std::chrono::milliseconds idle, size_t max_active,
                           uint64_t budget = 0) {
  passivation_options o;
  o.idle_timeout = idle;
  o.max_active = max_active;
  o.memory_budget = budget;
  o.check_interval = 1s;
  o.stop_timeout = 5s;
  return o;
}

} // namespace

TEST_CASE("activation table: idle actors, the count limit and the budget, "
          "least recently used first") {
  activation_table t;
  t.add("a", at(0));
  t.add("b", at(1));
  t.add("c", at(2));
  CHECK(t.order() == ids{"a", "b", "c"});
  // A message to "a" takes it out of the candidates until it is answered;
  // the answer makes it the most recently used.
  t.begin("a", at(3));
  CHECK(t.order() == ids{"b", "c"});
  CHECK(t.in_flight("a") == 1);
  t.end("a", at(4));
  CHECK(t.order() == ids{"b", "c", "a"});
  CHECK(t.active() == 3);
  SECTION("idle") {
    // At 12 s, "b" (last used at 1 s) and "c" (2 s) are idle for 10 s.
    auto v = t.select(at(12), limits(10s, 0));
    REQUIRE(v.size() == 2);
    CHECK(v[0].id == "b");
    CHECK(v[1].id == "c");
    CHECK(v[0].cause == passivation_cause::idle);
    CHECK(t.select(at(11), limits(10s, 0)).size() == 1);
    CHECK(t.select(at(100), limits(0s, 0)).empty()); // 0: never idle
  }
  SECTION("count limit") {
    auto v = t.select(at(5), limits(0s, 2));
    REQUIRE(v.size() == 1);
    CHECK(v[0].id == "b");
    CHECK(v[0].cause == passivation_cause::count_limit);
    // An actor with a message in flight is never chosen.
    t.begin("b", at(5));
    v = t.select(at(5), limits(0s, 1));
    REQUIRE(v.size() == 2);
    CHECK(v[0].id == "c");
    CHECK(v[1].id == "a");
    // One asked to stop counts no more.
    t.mark_passivating("c");
    CHECK(t.active() == 2);
    CHECK(t.select(at(5), limits(0s, 2)).empty());
    t.remove("c");
    CHECK(t.active() == 2);
    CHECK_FALSE(t.contains("c"));
  }
  SECTION("memory budget") {
    t.set_bytes("a", 100);
    t.set_bytes("b", 300);
    t.set_bytes("c", 50);
    CHECK(t.bytes() == 450);
    // Over 200: "b" then "c" go (least recently used first), not "a".
    auto v = t.select(at(5), limits(0s, 0, 200));
    REQUIRE(v.size() == 1);
    CHECK(v[0].id == "b");
    CHECK(v[0].cause == passivation_cause::memory_budget);
    v = t.select(at(5), limits(0s, 0, 99));
    REQUIRE(v.size() == 3);
    t.mark_passivating("b");
    CHECK(t.bytes() == 150);
    t.set_bytes("a", 10);
    CHECK(t.bytes() == 60);
  }
}

namespace {

using size_atom = caf::atom_constant<caf::atom("size")>;

/// A state that says how many bytes it takes.
struct sized {
  uint64_t bytes = 0;
  void apply(const event& e) {
    bytes += static_cast<uint64_t>(e.data.at("n").as_int64());
  }
  uint64_t memory_size() const {
    return bytes;
  }
  boost::json::value to_snapshot() const {
    return boost::json::object{{"bytes", bytes}};
  }
  caf::error from_snapshot(const boost::json::value& v) {
    bytes = v.at("bytes").to_number<uint64_t>();
    return caf::none;
  }
};

class sized_actor : public persistent_actor<sized> {
public:
  using persistent_actor::persistent_actor;
  caf::behavior make_commands() override {
    return {[this](add_atom, int64_t n) -> caf::result<int64_t> {
      return persist("added", boost::json::object{{"n", n}}, [this] {
        return static_cast<int64_t>(state().bytes);
      });
    }};
  }
};

struct registry_fixture : actor_fixture {
  std::shared_ptr<activation_metrics> metrics
    = std::make_shared<activation_metrics>();
  caf::actor reg;
  /// The last actor started per id.
  std::map<std::string, caf::actor> started;

  void start(passivation_options o, bool sized_state = false) {
    auto factory = [this, sized_state](caf::actor_system& s,
                                       const std::string& id) {
      auto a = sized_state ? s.spawn<sized_actor>(id, ctx)
                           : s.spawn<tally_actor>(id, ctx);
      started[id] = a;
      return a;
    };
    reg = spawn_registry_actor(sys, factory, o, metrics);
    spawned.push_back(reg);
  }

  template <class... Ts>
  auto post_to(const std::string& id, Ts... xs) {
    return post(reg, ask_atom::value, id, caf::make_message(xs...));
  }

  caf::expected<int64_t> add(const std::string& id, int64_t n) {
    return ask<int64_t>(reg, ask_atom::value, id,
                        caf::make_message(add_atom::value, n));
  }

  ids active() {
    return *ask<ids>(reg, registry_active_atom::value);
  }

  uint64_t replayed() const {
    return ctx.metrics->read().events_replayed;
  }
};

int64_t
reply_of(caf::response_handle<caf::blocking_actor, caf::message, true>& hdl,
         caf::actor_system& sys) {
  int64_t out = -1;
  hdl.receive(
    [&](int64_t x) {
      out = x;
    },
    [&](caf::error& err) {
      FAIL(sys.render(err));
    });
  return out;
}

} // namespace

TEST_CASE_METHOD(registry_fixture, "registry: get-or-activate by id") {
  start(limits(0s, 0));
  CHECK(add("a", 1) == 1);
  CHECK(add("a", 2) == 3);
  CHECK(add("b", 5) == 5);
  CHECK(active() == ids{"a", "b"});
  auto m = metrics->read();
  CHECK(m.activations == 2);
  CHECK(m.active == 2);
  // A bad id is refused with the rule, and starts nothing.
  auto bad = add("", 1);
  REQUIRE_FALSE(bad);
  INFO(sys.render(bad.error()));
  CHECK(sys.render(bad.error()).find("actor_id: must not be empty")
        != std::string::npos);
  CHECK(metrics->read().activations == 2);
}

TEST_CASE_METHOD(registry_fixture, "registry: an idle actor is passivated "
                                   "with a snapshot and comes back on its "
                                   "next message replaying nothing") {
  start(limits(10s, 0));
  CHECK(add("a", 1) == 1);
  CHECK(add("a", 2) == 3);
  advance(5s);
  CHECK(add("b", 1) == 1);
  advance(4s); // a: idle 9 s
  CHECK(active() == ids{"a", "b"});
  advance(2s); // a: idle 11 s, b: 6 s
  CHECK(active() == ids{"b"});
  CHECK(metrics->read().passivations_idle == 1);
  CHECK(memory->get_latest_snapshot("a")->value().version == 2);
  auto before = replayed();
  CHECK(add("a", 3) == 6);
  CHECK(replayed() - before == 0);
  CHECK(metrics->read().activations == 3);
  CHECK(active() == ids{"a", "b"});
}

TEST_CASE_METHOD(registry_fixture, "registry: without the snapshot option "
                                   "the next activation replays the tail") {
  auto o = limits(10s, 0);
  o.snapshot = false;
  start(o);
  CHECK(add("a", 1) == 1);
  CHECK(add("a", 2) == 3);
  advance(11s);
  CHECK(active().empty());
  CHECK_FALSE(memory->get_latest_snapshot("a")->has_value());
  auto before = replayed();
  CHECK(add("a", 3) == 6);
  CHECK(replayed() - before == 2);
}

TEST_CASE_METHOD(registry_fixture, "registry: over the count limit the least "
                                   "recently used actor goes first") {
  start(limits(0s, 3));
  CHECK(add("a", 1) == 1);
  CHECK(add("b", 1) == 1);
  CHECK(add("c", 1) == 1);
  CHECK(add("a", 1) == 2); // order now b, c, a
  CHECK(add("d", 1) == 1);
  CHECK(active() == ids{"a", "c", "d"});
  CHECK(add("b", 1) == 2); // recovered from its snapshot; c goes
  CHECK(active() == ids{"a", "b", "d"});
  auto m = metrics->read();
  CHECK(m.passivations_count_limit == 2);
  CHECK(m.passivations_idle == 0);
  CHECK(m.active_peak == 3);
  // Raised at run time: nobody goes; lowered: the two least recent go.
  anon_send(reg, registry_options_atom::value, limits(0s, 1));
  run();
  CHECK(active() == ids{"b"});
}

TEST_CASE_METHOD(registry_fixture, "registry: at the count limit with every "
                                   "actor busy, activations wait in order") {
  start(limits(0s, 1));
  std::vector<decltype(post_to("a", add_atom::value, int64_t{1}))> asks;
  asks.push_back(post_to("a", add_atom::value, int64_t{1}));
  asks.push_back(post_to("b", add_atom::value, int64_t{10}));
  asks.push_back(post_to("a", add_atom::value, int64_t{2}));
  asks.push_back(post_to("c", add_atom::value, int64_t{100}));
  size_t most = 0;
  while (sched.try_run_once())
    most = std::max(most, active().size() > 0 ? metrics->read().active : 0);
  CHECK(reply_of(asks[0], sys) == 1);
  CHECK(reply_of(asks[1], sys) == 10);
  CHECK(reply_of(asks[2], sys) == 3);
  CHECK(reply_of(asks[3], sys) == 100);
  CHECK(metrics->read().active_peak == 1);
  CHECK(active() == ids{"c"});
}

TEST_CASE_METHOD(registry_fixture, "registry: over the memory budget the "
                                   "least recently used actor goes first") {
  start(limits(0s, 0, 250), true);
  CHECK(add("a", 100) == 100);
  CHECK(add("b", 100) == 100);
  CHECK(metrics->read().state_bytes == 200);
  CHECK(add("c", 100) == 100);
  CHECK(active() == ids{"b", "c"});
  auto m = metrics->read();
  CHECK(m.passivations_memory_budget == 1);
  CHECK(m.state_bytes == 200);
  CHECK(add("a", 10) == 110); // b goes
  CHECK(active() == ids{"a", "c"});
  CHECK(metrics->read().state_bytes == 210);
}

TEST_CASE_METHOD(registry_fixture, "registry: messages that arrive during a "
                                   "passivation are neither lost nor "
                                   "reordered") {
  start(limits(10s, 0));
  CHECK(add("a", 1) == 1);
  // The tick that passivates "a" is queued, then five commands behind it.
  sched.clock().advance_time(11s);
  std::vector<decltype(post_to("a", add_atom::value, int64_t{1}))> asks;
  for (int64_t n = 2; n <= 6; ++n)
    asks.push_back(post_to("a", add_atom::value, n));
  uint64_t most_held = 0;
  while (sched.try_run_once())
    most_held = std::max(most_held, metrics->read().messages_held);
  CHECK(most_held == 5);
  int64_t sum = 1;
  for (size_t i = 0; i < asks.size(); ++i) {
    sum += static_cast<int64_t>(i) + 2;
    CHECK(reply_of(asks[i], sys) == sum);
  }
  auto m = metrics->read();
  CHECK(m.passivations_idle == 1);
  CHECK(m.activations == 2);
  CHECK(m.messages_held == 0);
  auto seen = ask<std::vector<int64_t>>(reg, ask_atom::value, "a",
                                        caf::make_message(seen_atom::value));
  CHECK(seen == std::vector<int64_t>{1, 2, 3, 4, 5, 6});
}

TEST_CASE_METHOD(registry_fixture, "registry: messages an actor bounced when "
                                   "it stopped on its own go to its next "
                                   "activation, in order") {
  start(limits(0s, 0));
  CHECK(add("a", 1) == 1);
  // "a" stops before it takes the next two messages.
  anon_send_exit(started.at("a"), caf::exit_reason::user_shutdown);
  auto x = post_to("a", add_atom::value, int64_t{2});
  auto y = post_to("a", add_atom::value, int64_t{3});
  run();
  CHECK(reply_of(x, sys) == 3);
  CHECK(reply_of(y, sys) == 6);
  CHECK(metrics->read().activations == 2);
}

TEST_CASE_METHOD(actor_fixture, "registry: an actor that ignores the "
                                "passivation is killed after the stop "
                                "timeout") {
  auto metrics = std::make_shared<activation_metrics>();
  auto o = limits(10s, 0);
  auto reg = spawn_registry_actor(
    sys,
    [](caf::actor_system& s, const std::string&) {
      return s.spawn([]() -> caf::behavior {
        return {[](add_atom, int64_t n) {
          return n;
        }};
      });
    },
    o, metrics);
  spawned.push_back(reg);
  CHECK(ask<int64_t>(reg, ask_atom::value, "x",
                     caf::make_message(add_atom::value, int64_t{7}))
        == 7);
  advance(11s);
  CHECK(metrics->read().passivations_idle == 1);
  CHECK(metrics->read().passivation_kills == 0);
  advance(5s);
  CHECK(metrics->read().passivation_kills == 1);
  CHECK(ask<ids>(reg, registry_active_atom::value)->empty());
  // And it comes back on its next message.
  CHECK(ask<int64_t>(reg, ask_atom::value, "x",
                     caf::make_message(add_atom::value, int64_t{8}))
        == 8);
}

TEST_CASE("registry: options from the config, checked") {
  {
    aether::config cfg;
    // CAF's command line only turns a bool on; a config file turns it off.
    std::istringstream ini{"[aether.passivation]\nidle-timeout=5s\n"
                           "max-active=7\nmemory-budget=1000\n"
                           "snapshot=false\n"};
    char prog[] = "prog";
    char* argv[] = {prog};
    REQUIRE_FALSE(cfg.parse(1, argv, ini));
    auto o = passivation_options::from_config(cfg);
    REQUIRE(o);
    CHECK(o->idle_timeout == 5s);
    CHECK(o->max_active == 7);
    CHECK(o->memory_budget == 1000);
    CHECK_FALSE(o->snapshot);
    CHECK(o->effective_check_interval() == 1000ms);
  }
  {
    aether::config cfg;
    parse_args(cfg, {});
    auto o = passivation_options::from_config(cfg);
    REQUIRE(o);
    CHECK(o->idle_timeout == 120s);
    CHECK(o->max_active == 100000);
    CHECK(o->memory_budget == 0);
    CHECK(o->snapshot);
  }
  {
    aether::config cfg;
    parse_args(cfg, {"--aether.passivation.stop-timeout=0s"});
    auto o = passivation_options::from_config(cfg);
    REQUIRE_FALSE(o);
    CHECK(to_string(o.error()).find("aether.passivation.stop-timeout")
          != std::string::npos);
  }
}

TEST_CASE_METHOD(registry_fixture, "registry: metrics as Prometheus text") {
  start(limits(10s, 0));
  CHECK(add("a", 1) == 1);
  advance(11s);
  auto text = metrics->to_prometheus();
  CHECK(text.find("aether_passivations_total{cause=\"idle\"} 1\n")
        != std::string::npos);
  CHECK(text.find("aether_activations_total 1\n") != std::string::npos);
  CHECK(text.find("aether_actors_active 0\n") != std::string::npos);
}

TEST_CASE("registry: refs in real time, and a stopped registry passivates "
          "its actors") {
  auto store = std::make_shared<memory_store>();
  aether::config cfg;
  caf::actor_system sys{cfg};
  auto ctx = store_context::make(sys, store);
  auto reg = actor_registry::spawn(sys, [ctx](caf::actor_system& s,
                                              const std::string& id) {
    return s.spawn<tally_actor>(id, ctx);
  });
  auto r = reg->ref("r1");
  caf::scoped_actor self{sys};
  for (int64_t n = 1; n <= 3; ++n)
    self->request(r, caf::infinite, add_atom::value, n)
      .receive(
        [&](int64_t sum) {
          CHECK(sum == n * (n + 1) / 2);
        },
        [&](caf::error& err) {
          FAIL(sys.render(err));
        });
  CHECK(reg->metrics().read().activations == 1);
  CHECK(reg->prometheus().find("aether_actors_active 1\n")
        != std::string::npos);
  reg.reset();
  CHECK(eventually([&] {
    auto snap = store->get_latest_snapshot("r1");
    return snap && snap->has_value() && (*snap)->version == 3;
  }));
  // The ref stops with the registry.
  self->wait_for(r);
}

TEST_CASE("registry: a request out at an actor when the registry stops gets "
          "an error, not silence") {
  aether::config cfg;
  caf::actor_system sys{cfg};
  // An actor that never answers (it keeps the promise).
  auto reg
    = actor_registry::spawn(sys, [](caf::actor_system& s, const std::string&) {
        return s.spawn([](caf::event_based_actor* self) -> caf::behavior {
          auto kept = std::make_shared<std::vector<caf::response_promise>>();
          return {[self, kept](get_atom) {
            kept->push_back(self->make_response_promise());
            return kept->back();
          }};
        });
      });
  caf::scoped_actor self{sys};
  auto hdl = self->request(reg->router(), std::chrono::seconds{20},
                           ask_atom::value, std::string{"mute"},
                           caf::make_message(get_atom::value));
  REQUIRE(eventually([&] {
    return reg->metrics().read().activations == 1;
  }));
  reg.reset();
  bool stopped = false;
  hdl.receive(
    [](caf::message&) {
      FAIL("an answer from the mute actor");
    },
    [&](caf::error& err) {
      INFO(sys.render(err));
      stopped = err == runtime_error::actor_stopped;
    });
  CHECK(stopped);
}
