// Tags: a tagger in persistence_options tags what an actor persists, the
// store indexes the tags, and a bad tag or a throwing tagger fails the
// persist without storing anything.
#include "aether/core/error.hpp"
#include "aether/persistence/memory_store.hpp"
#include "aether/runtime/event_sourced.hpp"
#include "aether/testkit/behavior_testkit.hpp"
#include "catch.hpp"

#include <caf/all.hpp>
#include <stdexcept>

using namespace aether;
using namespace aether::testkit;

namespace {

using book_atom = caf::atom_constant<caf::atom("book")>;

AETHER_DEFINE_EVENT(booked, "booked", (int64_t, amount))

struct account {
  int64_t total = 0;
  void apply(const booked& e) {
    total += e.amount;
  }
};
BOOST_DESCRIBE_STRUCT(account, (), (total))

class account_actor : public event_sourced<account, events<booked>> {
public:
  using event_sourced::event_sourced;

  caf::behavior commands() override {
    return {
      [this](book_atom, int64_t n) {
        return persist(booked{n}).then_reply(&account::total);
      },
    };
  }
};

std::vector<std::string> tag_amounts(const event& e) {
  auto amount = e.data.at("amount").as_int64();
  if (amount < 0)
    throw std::runtime_error("negative amount");
  if (amount == 13)
    return {"un lucky"};
  std::vector<std::string> tags{"ledger"};
  if (amount >= 100)
    tags.emplace_back("big");
  return tags;
}

} // namespace

TEST_CASE("tagging: the tagger's tags are stored and indexed") {
  testkit_options o;
  auto store = std::make_shared<memory_store>();
  o.store = store;
  o.persistence.tagger = tag_amounts;
  behavior_testkit<account_actor> kit{"acc-1", o};
  auto small = kit.run<int64_t>(book_atom::value, int64_t{5});
  REQUIRE(small.reply);
  REQUIRE(small.stored.size() == 1);
  CHECK(small.stored[0].tags() == std::vector<std::string>{"ledger"});
  auto big = kit.run<int64_t>(book_atom::value, int64_t{500});
  REQUIRE(big.reply);
  CHECK(*big.reply == 505);
  REQUIRE(big.stored.size() == 1);
  CHECK(big.stored[0].tags() == std::vector<std::string>{"big", "ledger"});
  auto page = store->events_by_tag("big", 0, 10);
  REQUIRE(page);
  REQUIRE(page->events.size() == 1);
  CHECK(page->events[0].ev.version == 2);
  auto ledger = store->events_by_tag("ledger", 0, 10);
  REQUIRE(ledger);
  CHECK(ledger->events.size() == 2);
  SECTION("a tagger that throws fails the persist; nothing is stored") {
    auto bad = kit.run<int64_t>(book_atom::value, int64_t{-1});
    REQUIRE_FALSE(bad.reply);
    CHECK(is(bad.reply.error(), persistence_error::invalid_argument));
    CHECK(describe(bad.reply.error()).find("negative amount")
          != std::string::npos);
    CHECK(bad.stored.empty());
  }
  SECTION("a bad tag fails the persist; nothing is stored") {
    auto bad = kit.run<int64_t>(book_atom::value, int64_t{13});
    REQUIRE_FALSE(bad.reply);
    CHECK(is(bad.reply.error(), persistence_error::invalid_argument));
    CHECK(describe(bad.reply.error()).find("metadata[tags]")
          != std::string::npos);
    CHECK(bad.stored.empty());
  }
  // Either way the actor goes on.
  auto after = kit.run<int64_t>(book_atom::value, int64_t{1});
  REQUIRE(after.reply);
  CHECK(*after.reply == 506);
  CHECK(store->get_latest_version("acc-1") == int64_t{3});
}
