// Regression tests of issue 12's actor-core defects: user code that throws,
// requests that must be answered whatever happens, exits while a store call
// is in flight, and retention that must not trust a failed read.
#include "actor_fixture.hpp"
#include "aether/persistence/forwarding_store.hpp"
#include "aether/runtime/io_job.hpp"
#include "aether/runtime/persistent_actor.hpp"
#include "aether/runtime/runtime_error.hpp"
#include "tally.hpp"

#include <atomic>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

using namespace aether;
using namespace aether::test;
using namespace std::chrono_literals;

namespace {

using quit_atom = caf::atom_constant<caf::atom("quit_now")>;
using ask_atom = caf::atom_constant<caf::atom("ask_peer")>;
using await_atom = caf::atom_constant<caf::atom("await_peer")>;
using ping_atom = caf::atom_constant<caf::atom("ping")>;
using throw_atom = caf::atom_constant<caf::atom("throw_rep")>;

/// A state whose user code misbehaves on purpose: `apply` throws for the
/// number 13, `from_snapshot` appends to `items` (never clears) and fails
/// (or throws) when the snapshot says so.
struct fragile {
  std::vector<int64_t> items;

  void apply(const event& e) {
    auto n = e.data.at("n").as_int64();
    if (n == 13)
      throw std::runtime_error("unlucky number");
    items.push_back(n);
  }

  boost::json::value to_snapshot() const {
    return boost::json::object{
      {"items", boost::json::array(items.begin(), items.end())}};
  }

  caf::error from_snapshot(const boost::json::value& v) {
    auto& o = v.as_object();
    for (auto& x : o.at("items").as_array())
      items.push_back(x.as_int64());
    if (o.contains("throw"))
      throw std::out_of_range("snapshot has a shape this code rejects");
    if (o.contains("fail"))
      return make_persistence_error(persistence_error::corrupt_data,
                                    "fragile: marked as failing");
    return caf::none;
  }
};

class fragile_actor : public persistent_actor<fragile> {
public:
  using persistent_actor::persistent_actor;

  caf::behavior make_commands() override {
    return {
      [this](add_atom, int64_t n) -> caf::result<int64_t> {
        return persist("added", boost::json::object{{"n", n}}, [this] {
          return static_cast<int64_t>(state().items.size());
        });
      },
      [this](seen_atom) {
        return state().items;
      },
      [this](quit_atom, int64_t n) -> caf::result<int64_t> {
        auto rp = persist("added", boost::json::object{{"n", n}}, [] {
          return int64_t{0};
        });
        quit();
        return rp;
      },
      [this](throw_atom) -> caf::result<int64_t> {
        return persist("added", boost::json::object{{"n", 1}}, []() -> int64_t {
          throw std::logic_error("reply went wrong");
        });
      },
      [this](ask_atom, caf::actor peer) {
        // A continuation that reads the state: it must never see a state
        // that is being recovered.
        request(peer, caf::infinite, ping_atom::value).then([this](int64_t) {
          continuation_saw_recovery = recovering();
          continuation_items = state().items;
        });
      },
      [this](await_atom, caf::actor peer) -> caf::result<int64_t> {
        auto rp = make_response_promise<int64_t>();
        request(peer, caf::infinite, ping_atom::value)
          .await([rp](int64_t x) mutable {
            rp.deliver(x);
          });
        return rp;
      },
    };
  }

  bool continuation_saw_recovery = false;
  std::vector<int64_t> continuation_items;
};

/// Forwards to a memory store. Reads and snapshot reads can be made to fail.
class scripted_store : public forwarding_store {
public:
  using forwarding_store::forwarding_store;

  std::atomic<int> fail_latest_version{0};
  std::atomic<int> fail_older_snapshot_reads{0};

  caf::expected<int64_t>
  get_latest_version(const std::string& actor_id) override {
    if (fail_latest_version > 0) {
      --fail_latest_version;
      return make_persistence_error(persistence_error::unavailable,
                                    "scripted: store unavailable");
    }
    return forwarding_store::get_latest_version(actor_id);
  }

  caf::expected<std::optional<actor_snapshot>>
  get_latest_snapshot(const std::string& actor_id,
                      snapshot_criteria c) override {
    if (c.max_version != snapshot_criteria::latest().max_version
        && fail_older_snapshot_reads > 0) {
      --fail_older_snapshot_reads;
      return make_persistence_error(persistence_error::unavailable,
                                    "scripted: snapshot read failed");
    }
    return forwarding_store::get_latest_snapshot(actor_id, c);
  }
};

struct fixture : actor_fixture {
  fixture() : actor_fixture(make_store()) {
    // nop
  }

  static std::shared_ptr<event_store_with_snapshots> make_store() {
    return std::make_shared<scripted_store>(std::make_shared<memory_store>());
  }

  scripted_store& scripted() {
    return static_cast<scripted_store&>(*ctx.store);
  }

  memory_store& inner() {
    return static_cast<memory_store&>(scripted().inner());
  }

  template <class Actor = fragile_actor>
  caf::actor spawn(const std::string& id, persistence_options opts = {}) {
    opts.log = [this](const std::string& line) {
      log.push_back(line);
    };
    auto a = spawn_actor<Actor>(id, ctx, opts);
    run();
    return a;
  }

  void store_events(const std::string& id, std::vector<int64_t> ns) {
    auto v = *ctx.store->get_latest_version(id);
    for (auto n : ns) {
      event e;
      e.type = "added";
      e.actor_id = id;
      e.version = ++v;
      e.data = boost::json::object{{"n", n}};
      REQUIRE(ctx.store->save_event(e));
    }
  }

  void store_snapshot(const std::string& id, int64_t version,
                      boost::json::object state) {
    actor_snapshot s;
    s.actor_id = id;
    s.version = version;
    s.state = std::move(state);
    REQUIRE_FALSE(ctx.store->save_snapshot(s));
  }

  caf::error down_reason(const caf::actor& a) {
    self->monitor(a);
    run();
    caf::error reason;
    bool got = false;
    self->receive(
      [&](caf::down_msg& d) {
        reason = d.reason;
        got = true;
      },
      caf::after(std::chrono::seconds{0}) >>
        [] {
          // nothing: the actor is still alive
        });
    REQUIRE(got);
    return reason;
  }

  std::vector<std::string> log;
};

bool mentions(const caf::error& err, const std::string& text) {
  return describe(err).find(text) != std::string::npos;
}

} // namespace

// Items 6 and 7: from_snapshot that throws or fails half-way.
TEST_CASE_METHOD(fixture, "a throwing from_snapshot falls back to an older "
                          "snapshot and kills no I/O worker") {
  store_events("f", {1, 2, 3, 4, 5});
  store_snapshot("f", 2, {{"items", boost::json::array{1, 2}}});
  store_snapshot("f", 3, {{"items", boost::json::array{100}}, {"fail", true}});
  store_snapshot("f", 4, {{"items", boost::json::array{200}}, {"throw", true}});
  auto a = spawn("f");
  auto items = ask<std::vector<int64_t>>(a, seen_atom::value);
  REQUIRE(items);
  // Fresh state per attempt: nothing of the failed snapshots (100, 200)
  // leaks into the state decoded from snapshot 2.
  CHECK(*items == std::vector<int64_t>{1, 2, 3, 4, 5});
  CHECK(std::count_if(log.begin(), log.end(),
                      [](const std::string& line) {
                        return line.find("snapshot fallback")
                               != std::string::npos;
                      })
        == 2);
  // Every other actor (both workers) still works.
  for (auto id : {"g", "h", "i", "j"}) {
    auto b = spawn(id);
    CHECK(ask<int64_t>(b, add_atom::value, int64_t{7}) == int64_t{1});
  }
  CHECK(ctx.io->workers_replaced() == 0);
}

// Item 6: apply that throws during recovery and after a persist.
TEST_CASE_METHOD(fixture, "a throwing apply fails the recovery with an error "
                          "that names the event") {
  store_events("r", {1, 13, 3});
  // Asked before the recovery runs: answered with the recovery's error.
  auto a = spawn_actor<fragile_actor>("r", ctx, persistence_options{});
  auto res = ask<std::vector<int64_t>>(a, seen_atom::value);
  REQUIRE_FALSE(res);
  INFO(describe(res.error()));
  CHECK(is(res.error(), runtime_error::user_code_failed));
  CHECK(mentions(res.error(), "apply of event 2"));
  CHECK(mentions(res.error(), "unlucky number"));
  CHECK(is(down_reason(a), runtime_error::user_code_failed));
}

TEST_CASE_METHOD(fixture, "a throwing apply after a persist fails the command "
                          "and the actor stops clearly") {
  auto a = spawn("p");
  CHECK(ask<int64_t>(a, add_atom::value, int64_t{1}) == int64_t{1});
  auto res = ask<int64_t>(a, add_atom::value, int64_t{13});
  REQUIRE_FALSE(res);
  CHECK(is(res.error(), runtime_error::user_code_failed));
  CHECK(mentions(res.error(), "apply of event 2"));
  // The event is stored; recovery meets it again and stops the actor.
  CHECK(*ctx.store->get_latest_version("p") == 2);
  CHECK(is(down_reason(a), runtime_error::user_code_failed));
}

TEST_CASE_METHOD(fixture, "a throwing reply function answers with an error") {
  auto a = spawn("t");
  auto res = ask<int64_t>(a, throw_atom::value);
  REQUIRE_FALSE(res);
  CHECK(is(res.error(), runtime_error::user_code_failed));
  CHECK(mentions(res.error(), "reply went wrong"));
  // The event was stored and applied; the actor goes on.
  CHECK(ask<int64_t>(a, add_atom::value, int64_t{2}) == int64_t{2});
}

// Item 6: the I/O workers themselves.
TEST_CASE_METHOD(fixture, "an I/O job that throws fails its request; a dead "
                          "worker is replaced") {
  auto throwing = make_io_job([]() -> int {
    throw std::runtime_error("job failed");
  });
  caf::error err;
  auto h = self->request(ctx.io->worker_for("w"), caf::infinite, io_atom::value,
                         io_job_ptr{throwing});
  run();
  h.receive(
    [] {
      FAIL("the throwing job succeeded");
    },
    [&](caf::error& x) {
      err = x;
    });
  CHECK(is(err, runtime_error::user_code_failed));
  CHECK(mentions(err, "job failed"));
  auto ok = make_io_job([] {
    return 42;
  });
  auto ask_job = [&](const io_job_ptr& job) {
    bool answered = false;
    auto h = self->request(ctx.io->worker_for("w"), caf::infinite,
                           io_atom::value, job);
    run();
    h.receive(
      [&] {
        answered = true;
      },
      [&](caf::error&) {
        answered = false;
      });
    return answered;
  };
  CHECK(ask_job(ok));
  CHECK(ok->result() == 42);
  // A worker killed anyway is replaced: the same actor id works again.
  caf::anon_send_exit(ctx.io->worker_for("w"), caf::exit_reason::kill);
  run();
  CHECK(ctx.io->workers_replaced() == 1);
  auto again = make_io_job([] {
    return 7;
  });
  CHECK(ask_job(again));
  CHECK(again->result() == 7);
}

// Item 8: an actor that cannot start answers its requests with the reason.
TEST_CASE_METHOD(fixture, "requests to an actor with an invalid id get the "
                          "validation error") {
  auto a = spawn_actor<fragile_actor>("has space", ctx, persistence_options{});
  auto res = ask<int64_t>(a, add_atom::value, int64_t{1});
  REQUIRE_FALSE(res);
  CHECK(is(res.error(), persistence_error::invalid_argument));
  CHECK(mentions(res.error(), "actor_id"));
  CHECK(is(down_reason(a), persistence_error::invalid_argument));
}

// Item 16: options that break a rule stop the actor with a clear error.
TEST_CASE_METHOD(fixture, "an actor spawned with a zero batch size answers "
                          "with invalid_option") {
  persistence_options o;
  o.recovery_batch_size = 0;
  auto a = spawn_actor<fragile_actor>("b0", ctx, o);
  auto res = ask<int64_t>(a, add_atom::value, int64_t{1});
  REQUIRE_FALSE(res);
  CHECK(is(res.error(), runtime_error::invalid_option));
  CHECK(mentions(res.error(), "recovery_batch_size"));
}

// Item 9: a persist in flight when the actor exits.
TEST_CASE_METHOD(fixture, "a handler that persists then quits answers its "
                          "requester") {
  auto a = spawn("q");
  auto res = ask<int64_t>(a, quit_atom::value, int64_t{5});
  REQUIRE_FALSE(res);
  CHECK(is(res.error(), runtime_error::actor_stopped));
  CHECK(mentions(res.error(), "may or may not be stored"));
}

TEST_CASE_METHOD(fixture, "commands waiting when the actor is killed get "
                          "actor_stopped") {
  auto a = spawn_actor<fragile_actor>("k", ctx, persistence_options{});
  // Queued before recovery ran: they wait in the stash.
  auto h1 = post(a, add_atom::value, int64_t{1});
  caf::anon_send_exit(a, caf::exit_reason::kill);
  run();
  caf::error err;
  h1.receive(
    [](int64_t) {
      FAIL("answered with a value");
    },
    [&](caf::error& x) {
      err = x;
    });
  CHECK(is(err, runtime_error::actor_stopped));
}

// Item 10: a handler that awaits while other commands wait in the stash.
TEST_CASE_METHOD(fixture, "a command skipped while a handler awaits is "
                          "answered later, not dropped") {
  auto peer = sys.spawn([]() -> caf::behavior {
    return {[](ping_atom) {
      return int64_t{99};
    }};
  });
  auto a = spawn_actor<fragile_actor>("aw", ctx, persistence_options{});
  // Both wait for the recovery in the stash; the first awaits the peer,
  // the second must not be lost meanwhile.
  auto h1 = post(a, await_atom::value, peer);
  auto h2 = post(a, add_atom::value, int64_t{4});
  run();
  int64_t r1 = 0;
  int64_t r2 = 0;
  h1.receive(
    [&](int64_t x) {
      r1 = x;
    },
    [](caf::error& e) {
      FAIL(describe(e));
    });
  h2.receive(
    [&](int64_t x) {
      r2 = x;
    },
    [](caf::error& e) {
      FAIL(describe(e));
    });
  CHECK(r1 == 99);
  CHECK(r2 == 1);
  caf::anon_send_exit(peer, caf::exit_reason::user_shutdown);
}

// Item 12: a response continuation waits while the actor recovers.
TEST_CASE_METHOD(fixture, "a response continuation never runs on a state "
                          "being recovered") {
  persistence_options o;
  o.on_unknown_outcome = failure_mode::restart;
  auto a = spawn("c", o);
  CHECK(ask<int64_t>(a, add_atom::value, int64_t{1}) == int64_t{1});
  // A peer that answers only when the test says so.
  auto held = std::make_shared<caf::response_promise>();
  auto peer = sys.spawn([held](caf::event_based_actor* p) -> caf::behavior {
    return {
      [=](ping_atom) {
        *held = p->make_response_promise();
        return *held;
      },
      [=](get_atom) {
        held->deliver(int64_t{1});
      },
    };
  });
  self->send(a, ask_atom::value, peer);
  run();
  REQUIRE(held->pending());
  // Another writer appends: the next persist conflicts, and the re-recovery
  // fails once (unavailable), so the actor waits to restart with its state
  // reset.
  store_events("c", {2});
  scripted().fail_latest_version = 1;
  auto res = ask<int64_t>(a, add_atom::value, int64_t{3});
  REQUIRE_FALSE(res);
  CHECK(is(res.error(), persistence_error::version_conflict));
  // Now the peer answers, while the actor is not recovered.
  caf::anon_send(peer, get_atom::value);
  run();
  advance(std::chrono::seconds{1}); // the restart: recovery completes
  auto items = ask<std::vector<int64_t>>(a, seen_atom::value);
  REQUIRE(items);
  CHECK(*items == std::vector<int64_t>{1, 2});
  auto* impl
    = dynamic_cast<fragile_actor*>(caf::actor_cast<caf::abstract_actor*>(a));
  REQUIRE(impl != nullptr);
  CHECK_FALSE(impl->continuation_saw_recovery);
  CHECK(impl->continuation_items == std::vector<int64_t>{1, 2});
  caf::anon_send_exit(peer, caf::exit_reason::user_shutdown);
}

// Item 5: retention must not trust a failed read.
TEST_CASE_METHOD(fixture, "a failed snapshot read during retention deletes "
                          "nothing") {
  persistence_options o;
  o.snapshots.every_events(2).keep_newest(3).delete_events();
  auto a = spawn("ret", o);
  for (int64_t i = 1; i <= 6; ++i)
    ask<int64_t>(a, add_atom::value, i);
  run();
  // Snapshots 2, 4, 6 exist; keeping 3 deletes the events up to 2.
  auto before = inner().get_events("ret", 1);
  REQUIRE(before);
  CHECK(before->front().version == 3);
  // The retention walk of the next snapshot fails to read an older one.
  scripted().fail_older_snapshot_reads = 1;
  ask<int64_t>(a, add_atom::value, int64_t{7});
  ask<int64_t>(a, add_atom::value, int64_t{8});
  run();
  // Nothing was deleted on the strength of a failed read: the events from
  // version 3 are still there, and so is snapshot 2.
  auto after = inner().get_events("ret", 1);
  REQUIRE(after);
  CHECK(after->front().version == 3);
  snapshot_criteria c;
  c.max_version = 2;
  auto s2 = inner().get_latest_snapshot("ret", c);
  REQUIRE(s2);
  CHECK(s2->has_value());
  // The next snapshot's retention works again.
  ask<int64_t>(a, add_atom::value, int64_t{9});
  ask<int64_t>(a, add_atom::value, int64_t{10});
  run();
  auto later = inner().get_events("ret", 1);
  REQUIRE(later);
  CHECK(later->front().version == 7); // kept: 10, 8, 6
}

// Item 11: exits while a store call is in flight (real threads: the store
// call blocks until the test releases it).
namespace {

class gated_store : public forwarding_store {
public:
  using forwarding_store::forwarding_store;

  caf::expected<int64_t>
  get_latest_version(const std::string& actor_id) override {
    {
      std::unique_lock<std::mutex> guard{mtx};
      entered = true;
      cv.notify_all();
      cv.wait_for(guard, 10s, [this] {
        return open;
      });
    }
    auto res = forwarding_store::get_latest_version(actor_id);
    returned = true;
    return res;
  }

  void release() {
    std::lock_guard<std::mutex> guard{mtx};
    open = true;
    cv.notify_all();
  }

  bool wait_entered() {
    std::unique_lock<std::mutex> guard{mtx};
    return cv.wait_for(guard, 10s, [this] {
      return entered;
    });
  }

  std::mutex mtx;
  std::condition_variable cv;
  bool entered = false;
  bool open = false;
  std::atomic<bool> returned{false};
};

/// The reason of the next down message, or a failure named `what` after
/// `limit`.
caf::error down_within(caf::scoped_actor& self, caf::timespan limit,
                       const char* what) {
  caf::error reason;
  self->receive(
    [&](caf::down_msg& d) {
      reason = d.reason;
    },
    caf::after(limit) >>
      [&] {
        FAIL(what);
      });
  return reason;
}

struct threaded {
  aether::config cfg;
  caf::actor_system sys{cfg};
  std::shared_ptr<gated_store> store
    = std::make_shared<gated_store>(std::make_shared<memory_store>());
  store_context ctx = store_context::make(sys, store);

  ~threaded() {
    store->release();
  }
};

} // namespace

TEST_CASE("kill acts at once while a store call is in flight") {
  threaded t;
  caf::scoped_actor self{t.sys};
  persistence_options o;
  o.log = [](const std::string&) {};
  auto a = t.sys.spawn<fragile_actor>("x", t.ctx, o);
  REQUIRE(t.store->wait_entered());
  auto pending = self->request(a, caf::infinite, add_atom::value, int64_t{1});
  self->monitor(a);
  self->send_exit(a, caf::exit_reason::kill);
  auto reason = down_within(self, 5s, "kill waited for the store");
  CHECK(reason == caf::exit_reason::kill);
  CHECK_FALSE(t.store->returned);
  caf::error err;
  pending.receive(
    [](int64_t) {
      FAIL("answered with a value");
    },
    [&](caf::error& x) {
      err = x;
    });
  CHECK(is(err, runtime_error::actor_stopped));
}

TEST_CASE("other exits wait for the store call in flight, within a bound") {
  threaded t;
  caf::scoped_actor self{t.sys};
  persistence_options o;
  o.log = [](const std::string&) {};
  SECTION("the store call returns: the exit follows") {
    auto a = t.sys.spawn<fragile_actor>("y", t.ctx, o);
    REQUIRE(t.store->wait_entered());
    self->monitor(a);
    self->send_exit(a, caf::exit_reason::user_shutdown);
    t.store->release();
    auto reason = down_within(self, 5s, "the exit never acted");
    CHECK(reason == caf::exit_reason::user_shutdown);
    CHECK(t.store->returned); // it waited for the call
  }
  SECTION("the store call hangs: the exit acts after exit_timeout") {
    o.exit_timeout = 200ms;
    auto a = t.sys.spawn<fragile_actor>("z", t.ctx, o);
    REQUIRE(t.store->wait_entered());
    self->monitor(a);
    self->send_exit(a, caf::exit_reason::user_shutdown);
    auto reason = down_within(self, 5s, "the exit never acted");
    CHECK(reason == caf::exit_reason::user_shutdown);
    CHECK_FALSE(t.store->returned);
  }
}

// Passivation (used by the cluster's hand-over): behind the commands before
// it, a snapshot at the last version, a reply, a normal stop.
TEST_CASE_METHOD(fixture, "passivate waits for the commands before it, "
                          "snapshots, answers and stops") {
  auto a = spawn_actor<fragile_actor>("p", ctx, persistence_options{});
  auto h1 = post(a, add_atom::value, int64_t{1});
  auto h2 = post(a, add_atom::value, int64_t{2});
  auto hp = post(a, passivate_atom::value);
  auto h3 = post(a, add_atom::value, int64_t{3});
  self->monitor(a);
  run();
  int64_t n1 = 0, n2 = 0, version = 0;
  h1.receive(
    [&](int64_t n) {
      n1 = n;
    },
    [](caf::error&) {
      FAIL("h1");
    });
  h2.receive(
    [&](int64_t n) {
      n2 = n;
    },
    [](caf::error&) {
      FAIL("h2");
    });
  hp.receive(
    [&](int64_t v) {
      version = v;
    },
    [](caf::error& e) {
      FAIL(caf::to_string(e));
    });
  caf::error late;
  h3.receive(
    [](int64_t) {
      FAIL("a command after passivate ran");
    },
    [&](caf::error& e) {
      late = e;
    });
  CHECK(n1 == 1);
  CHECK(n2 == 2);
  CHECK(version == 2);
  CHECK(is(late, runtime_error::actor_stopped));
  auto snap = inner().get_latest_snapshot("p");
  REQUIRE(snap);
  REQUIRE(*snap);
  CHECK((*snap)->version == 2);
  bool down = false;
  self->receive([&](caf::down_msg& d) {
    down = true;
    CHECK(!d.reason);
  });
  CHECK(down);
  // The next activation starts from the snapshot and replays nothing.
  auto b = spawn_actor<fragile_actor>("p", ctx, persistence_options{});
  CHECK(ask<std::vector<int64_t>>(b, seen_atom::value)
        == std::vector<int64_t>{1, 2});
}

TEST_CASE_METHOD(fixture, "passivate without new events saves no snapshot") {
  auto a = spawn_actor<fragile_actor>("q0", ctx, persistence_options{});
  CHECK(ask<int64_t>(a, passivate_atom::value) == int64_t{0});
  auto snap = inner().get_latest_snapshot("q0");
  REQUIRE(snap);
  CHECK_FALSE(*snap);
}
