// Unit tests of the bank account (../bank_account.hpp), written with the
// test kit as a user would: one command at a time, its events, the state
// after it and its reply; recovery by restart; store failures by policy.
#include "../demo_account.hpp"

#include <aether/testkit/behavior_testkit.hpp>
#include <catch2/catch.hpp>

using aether::testkit::behavior_testkit;
using aether::testkit::failure_policy;
using aether::testkit::store_operation;

TEST_CASE("account: a deposit stores one event and answers the balance") {
  behavior_testkit<account_actor> kit{"acc-1"};
  auto r = kit.run<int64_t>(deposit_atom::value, int64_t{50});
  REQUIRE(r.reply);
  CHECK(*r.reply == 50);
  REQUIRE(r.events.size() == 1);
  CHECK(r.event_at<deposited>(0).amount == 50);
  CHECK(r.state.balance == 50);
}

TEST_CASE("account: a withdrawal it cannot cover is refused, nothing stored") {
  behavior_testkit<account_actor> kit{"acc-1"};
  kit.seed_events({deposited{30}});
  auto r = kit.run<int64_t>(withdraw_atom::value, int64_t{40});
  REQUIRE_FALSE(r.reply);
  CHECK(aether::describe(r.reply.error()).find("amount") != std::string::npos);
  CHECK(r.events.empty());
  CHECK(r.state.balance == 30);
}

TEST_CASE("account: it recovers its balance from snapshot and events") {
  aether::testkit::testkit_options o;
  o.persistence.snapshots.every_events(3);
  behavior_testkit<demo_account> kit{"acc-1", o};
  for (int i = 0; i < 4; ++i)
    kit.run<int64_t>(deposit_atom::value, int64_t{10});
  kit.run<int64_t>(withdraw_atom::value, int64_t{5});
  auto back = kit.restart();
  CHECK(back.state.balance == 35);
  CHECK(back.from_snapshot == 3);
  CHECK(back.events_replayed == 2);
  // The demo's `info` query says the same.
  auto info = kit.run<std::vector<int64_t>>(info_atom::value);
  REQUIRE(info.reply);
  CHECK(*info.reply == std::vector<int64_t>{5, 3, 2, 35});
}

TEST_CASE("account: a store that cannot write fails the deposit, not the "
          "account") {
  behavior_testkit<account_actor> kit{"acc-1"};
  kit.store().set(store_operation::append, failure_policy::fail().times(1));
  auto failed = kit.run<int64_t>(deposit_atom::value, int64_t{50});
  REQUIRE_FALSE(failed.reply);
  CHECK(failed.state.balance == 0);
  CHECK_FALSE(kit.stopped()); // the account goes on
  auto next = kit.run<int64_t>(deposit_atom::value, int64_t{20});
  REQUIRE(next.reply);
  CHECK(*next.reply == 20);
}
