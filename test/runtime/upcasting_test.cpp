// Schema evolution end to end: stored events of older shapes reach `apply`
// in the current shape during recovery and capture; persisted events carry
// their schema version.
#include "aether/core/error.hpp"
#include "aether/persistence/json_codec.hpp"
#include "aether/persistence/memory_store.hpp"
#include "aether/runtime/event_sourced.hpp"
#include "aether/snapshot/capture.hpp"
#include "aether/testkit/behavior_testkit.hpp"
#include "catch.hpp"

#include <caf/all.hpp>

using namespace aether;
using namespace aether::testkit;

namespace {

using pay_in_atom = caf::atom_constant<caf::atom("pay_in")>;
using total_atom = caf::atom_constant<caf::atom("total")>;

// The current shape: version 2 of "paid_in" (version 1 named the field
// `amt`); "fee" is still version 1.
AETHER_DEFINE_EVENT(paid_in, "paid_in", (int64_t, amount))
AETHER_DEFINE_EVENT(fee, "fee", (int64_t, amount))

struct ledger {
  int64_t total = 0;
  void apply(const paid_in& e) {
    total += e.amount;
  }
  void apply(const fee& e) {
    total -= e.amount;
  }
};
BOOST_DESCRIBE_STRUCT(ledger, (), (total))

class ledger_actor : public event_sourced<ledger, events<paid_in, fee>> {
public:
  using event_sourced::event_sourced;

  caf::behavior commands() override {
    return {
      [this](pay_in_atom, int64_t n) {
        return persist(paid_in{n}).then_reply(&ledger::total);
      },
      [this](total_atom) {
        return state().total;
      },
    };
  }
};

// The same fold, untyped, for `capture_state`.
struct ledger_fold {
  int64_t total = 0;
  void apply(const event& e) {
    auto* amount = e.data.as_object().if_contains("amount");
    if (!amount)
      return;
    total += (e.type == "fee" ? -1 : 1) * amount->as_int64();
  }
  boost::json::value to_snapshot() const {
    return {{"total", total}};
  }
  caf::error from_snapshot(const boost::json::value& v) {
    total = v.at("total").as_int64();
    return {};
  }
};

std::shared_ptr<const event_upcasters> ledger_upcasters() {
  auto u = event_upcasters::make({
    // paid_in v1 -> v2: `amt` became `amount`.
    {"paid_in", 1,
     [](const event& e) {
       auto out = e;
       auto& o = out.data.as_object();
       o["amount"] = o.at("amt");
       o.erase("amt");
       return std::vector<event>{out};
     }},
    // "transfer" (retired) is two payments.
    {"transfer", 1,
     [](const event& e) {
       auto a = e;
       a.type = "paid_in";
       a.data = {{"amount", e.data.at("first")}};
       auto b = a;
       b.data = {{"amount", e.data.at("second")}};
       return std::vector<event>{a, b};
     }},
    // "audit" (retired) changed no state: dropped.
    {"audit", 1,
     [](const event&) {
       return std::vector<event>{};
     }},
  });
  REQUIRE(u);
  return *u;
}

// History written by older code: 10 + (5 + 7) + 3 - 4 = 21.
std::shared_ptr<memory_store> old_history() {
  auto store = std::make_shared<memory_store>();
  auto at = [](std::string type, int64_t v, boost::json::object data) {
    return make_event(std::move(type), "l-1", v, std::move(data));
  };
  auto current = at("paid_in", 4, {{"amount", 3}});
  current.set_metadata(metadata_keys::schema_version, "2");
  REQUIRE(store->save_events({at("paid_in", 1, {{"amt", 10}}),
                              at("transfer", 2, {{"first", 5}, {"second", 7}}),
                              at("audit", 3, {}), current,
                              at("fee", 5, {{"amount", 4}})}));
  return store;
}

} // namespace

TEST_CASE("upcasting: an actor recovers a history of older shapes and "
          "stamps what it persists") {
  testkit_options o;
  o.store = old_history();
  o.persistence.upcasters = ledger_upcasters();
  behavior_testkit<ledger_actor> kit{"l-1", o};
  auto total = kit.run<int64_t>(total_atom::value);
  REQUIRE(total.reply);
  CHECK(*total.reply == 21);
  auto paid = kit.run<int64_t>(pay_in_atom::value, int64_t{1});
  REQUIRE(paid.reply);
  CHECK(*paid.reply == 22);
  REQUIRE(paid.stored.size() == 1);
  CHECK(paid.stored[0].version == 6);
  CHECK(paid.stored[0].get_metadata("schemaVersion") == "2");
  auto back = kit.restart();
  CHECK(back.state.total == 22);
  CHECK(back.version == 6);
  // capture_state folds the same way with the same upcasters...
  auto captured = capture_state<ledger_fold>(
    *o.store, "l-1", std::numeric_limits<int64_t>::max(), 10000,
    o.persistence.upcasters);
  REQUIRE(captured);
  CHECK(captured->state.total == 22);
  CHECK(captured->version == 6);
  auto loaded = load(*o.store, "l-1", 10000, o.persistence.upcasters);
  REQUIRE(loaded);
  CHECK(loaded->events.size() == 6); // transfer split in two, audit dropped
  // ...and misses the old shapes without them (10 and the transfer).
  auto raw = capture_state<ledger_fold>(*o.store, "l-1");
  REQUIRE(raw);
  CHECK(raw->state.total == 22 - 10 - 12);
}

TEST_CASE("upcasting: an event newer than the code fails recovery clearly") {
  testkit_options o;
  o.store = std::make_shared<memory_store>();
  auto e = make_event("paid_in", "l-2", 1, boost::json::object{{"amount", 1}});
  e.set_metadata(metadata_keys::schema_version, "3");
  REQUIRE(o.store->save_event(e));
  o.persistence.upcasters = ledger_upcasters();
  behavior_testkit<ledger_actor> kit{"l-2", o};
  auto total = kit.run<int64_t>(total_atom::value);
  REQUIRE_FALSE(total.reply);
  // Recovery failed: the actor stopped with the reason.
  REQUIRE(kit.stopped());
  CHECK(is(*kit.stopped(), persistence_error::corrupt_data));
  CHECK(describe(*kit.stopped()).find("schema version 3 is newer")
        != std::string::npos);
}

namespace {

// A snapshot of version 1 of the ledger's state, which named the field
// `sum`. Its total (100) is not the fold of the events before it (10 + 5),
// so the tests see whether recovery used it.
std::shared_ptr<memory_store> history_with_old_snapshot() {
  auto store = std::make_shared<memory_store>();
  for (int64_t v = 1; v <= 4; ++v) {
    auto e = make_event("paid_in", "l-3", v,
                        boost::json::object{{"amount", v * 5}});
    e.set_metadata(metadata_keys::schema_version, "2");
    REQUIRE(store->save_event(e));
  }
  actor_snapshot old;
  old.actor_id = "l-3";
  old.version = 2;
  old.state = boost::json::object{{"sum", 100}};
  old.time = now();
  REQUIRE_FALSE(store->save_snapshot(old)); // schema_version 1
  return store;
}

} // namespace

TEST_CASE("upcasting: snapshots carry the state's schema version; an older "
          "one is upcast or skipped by choice, a newer one skipped") {
  testkit_options o;
  auto store = history_with_old_snapshot();
  o.store = store;
  o.persistence.upcasters = ledger_upcasters();
  o.persistence.state_schema_version = 2;
  SECTION("without an upcaster the old snapshot is skipped: a full replay") {
    behavior_testkit<ledger_actor> kit{"l-3", o};
    auto back = kit.restart();
    CHECK(back.from_snapshot == 0);
    CHECK(back.state.total == 5 + 10 + 15 + 20);
  }
  SECTION("with one it is upcast and recovery starts from it") {
    o.persistence.snapshot_upcaster = [](int64_t from,
                                         const boost::json::value& state) {
      REQUIRE(from == 1);
      return boost::json::value{{"total", state.at("sum")}};
    };
    behavior_testkit<ledger_actor> kit{"l-3", o};
    auto back = kit.restart();
    CHECK(back.from_snapshot == 2);
    CHECK(back.state.total == 100 + 15 + 20);
  }
  SECTION("an upcaster that throws skips the snapshot") {
    o.persistence.snapshot_upcaster
      = [](int64_t, const boost::json::value&) -> boost::json::value {
      throw std::runtime_error("no");
    };
    behavior_testkit<ledger_actor> kit{"l-3", o};
    auto back = kit.restart();
    CHECK(back.from_snapshot == 0);
    CHECK(back.state.total == 50);
  }
  SECTION("a snapshot newer than the code is skipped") {
    actor_snapshot newer;
    newer.actor_id = "l-3";
    newer.version = 3;
    newer.state = boost::json::object{{"total", 999}};
    newer.time = now();
    newer.schema_version = 3;
    REQUIRE_FALSE(store->save_snapshot(newer));
    o.persistence.snapshot_upcaster = [](int64_t,
                                         const boost::json::value& state) {
      return boost::json::value{{"total", state.at("sum")}};
    };
    behavior_testkit<ledger_actor> kit{"l-3", o};
    auto back = kit.restart();
    CHECK(back.from_snapshot == 2);
    CHECK(back.state.total == 135);
  }
  SECTION("snapshots the actor takes carry its version, through the codec") {
    o.persistence.snapshots.every_events(1);
    behavior_testkit<ledger_actor> kit{"l-3", o};
    auto paid = kit.run<int64_t>(pay_in_atom::value, int64_t{1});
    REQUIRE(paid.reply);
    auto back = kit.restart();
    CHECK(back.from_snapshot == 5);
    auto snap = store->get_latest_snapshot("l-3");
    REQUIRE(snap);
    REQUIRE(*snap);
    CHECK((*snap)->version == 5);
    CHECK((*snap)->schema_version == 2);
    auto text = json_codec::encode(**snap);
    CHECK(text.find("\"schemaVersion\":2") != std::string::npos);
    auto decoded = json_codec::decode_snapshot(text);
    REQUIRE(decoded);
    CHECK(decoded->schema_version == 2);
    CHECK(*decoded == **snap);
    CHECK(json_codec::decode_snapshot(
            R"({"actorId":"a","version":1,"state":{},)"
            R"("timestamp":"2026-01-01T00:00:00Z","schemaVersion":0})")
            .error()
          != caf::none);
  }
}
