// Schema evolution end to end: stored events of older shapes reach `apply`
// in the current shape during recovery and capture; persisted events carry
// their schema version.
#include "aether/core/error.hpp"
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
