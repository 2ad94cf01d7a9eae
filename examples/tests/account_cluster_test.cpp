// The cluster example's account on three in-process nodes against a real
// nats-server the test kit starts: each account runs on one node, answers
// through any node, and fails over when its node dies.
#include "../demo_account.hpp"

#include <aether/testkit/cluster_testkit.hpp>
#include <catch2/catch.hpp>
#include <set>

using aether::testkit::cluster_testkit;
using aether::testkit::cluster_testkit_options;

namespace {

cluster_testkit_options accounts() {
  cluster_testkit_options o;
  o.name = "accounts";
  o.configure = [](aether::config& cfg) {
    cfg.add_message_type<std::vector<int64_t>>("std::vector<int64_t>");
  };
  o.make_types = [](caf::actor_system&, const aether::store_context& ctx) {
    aether::entity_types types;
    types["account"] = [ctx](caf::actor_system& sys, const std::string& id) {
      return sys.spawn<demo_account>(id, ctx, aether::persistence_options{});
    };
    return types;
  };
  return o;
}

} // namespace

TEST_CASE("account cluster: any node reaches the one node of an account, "
          "and a dead node's accounts fail over") {
  cluster_testkit kit{accounts()};
  // Deposits through every node land on the one account.
  for (size_t i = 0; i < 3; ++i) {
    auto b = kit.ask<int64_t>(i, "account", "acc-1", deposit_atom::value,
                              int64_t{10});
    REQUIRE(b);
    CHECK(*b == int64_t(10 * (i + 1)));
  }
  // Exactly one node runs it.
  size_t owner = 3;
  for (size_t i = 0; i < 3; ++i)
    for (auto& e : kit.nodes().node(i).active_entities())
      if (e == "account/acc-1")
        owner = i;
  REQUIRE(owner < 3);
  // Its node dies: the account answers again from another node, with every
  // acknowledged deposit.
  kit.nodes().crash(owner);
  auto other = (owner + 1) % 3;
  auto b = kit.ask<int64_t>(other, "account", "acc-1", balance_atom::value);
  REQUIRE(b);
  CHECK(*b == 30);
}
