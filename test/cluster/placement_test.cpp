// Pure parts of the cluster: placement, lease records, wire frames, options.
#include "aether/cluster/cluster_options.hpp"
#include "aether/cluster/lease.hpp"
#include "aether/cluster/placement.hpp"
#include "aether/cluster/routed_message.hpp"
#include "aether/core/error.hpp"
#include "aether/runtime/config.hpp"
#include "aether/runtime/runtime_error.hpp"
#include "catch.hpp"
#include "parse_args.hpp"

#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/make_message.hpp>
#include <map>
#include <set>

using namespace aether;

namespace {

using hello_atom = caf::atom_constant<caf::atom("hello")>;

std::vector<std::string> nodes(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i)
    out.push_back("node-" + std::to_string(i));
  return out;
}

bool mentions(const caf::error& err, const std::string& text) {
  return describe(err).find(text) != std::string::npos;
}

/// A type with an inspect function that no actor system announced.
struct unannounced {
  int32_t x = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, unannounced& u) {
  return f(u.x);
}

struct cluster_config : aether::config {
  cluster_config() {
    add_cluster_options(custom_options_);
  }
};

caf::expected<cluster_options> options_from(std::vector<std::string> args) {
  cluster_config cfg;
  test::parse_args(cfg, std::move(args));
  return cluster_options::from_config(cfg);
}

} // namespace

TEST_CASE("shard_of is stable and spreads ids evenly") {
  // Pinned: changing the hash would move every actor of running clusters.
  CHECK(shard_of("account", "acc-1", 1024)
        == shard_of("account", "acc-1", 1024));
  CHECK(shard_of("account", "acc-1", 1) == 0);
  std::vector<int> per_shard(64, 0);
  for (int i = 0; i < 64000; ++i)
    per_shard[shard_of("account", "acc-" + std::to_string(i), 64)] += 1;
  for (auto n : per_shard) {
    CHECK(n > 700); // 1000 expected
    CHECK(n < 1300);
  }
  // The type is part of the key.
  int same = 0;
  for (int i = 0; i < 1000; ++i)
    same += shard_of("a", std::to_string(i), 1024)
            == shard_of("b", std::to_string(i), 1024);
  CHECK(same < 20);
}

TEST_CASE("owner_of: every node agrees, and a join or leave moves about 1/N") {
  auto three = nodes(3);
  auto four = nodes(4);
  std::map<std::string, int> per_node;
  int moved = 0;
  for (uint32_t s = 0; s < 1024; ++s) {
    auto a = owner_of(s, three);
    // Order of the member list does not matter.
    CHECK(owner_of(s, {three[2], three[0], three[1]}) == a);
    per_node[a] += 1;
    auto b = owner_of(s, four);
    if (a != b) {
      ++moved;
      CHECK(b == "node-3"); // only to the node that joined
    }
  }
  for (auto& kv : per_node) {
    CHECK(kv.second > 270); // 341 expected
    CHECK(kv.second < 410);
  }
  CHECK(moved > 190); // 256 expected
  CHECK(moved < 320);
  // A leave moves only the shards of the node that left.
  auto two = std::vector<std::string>{"node-0", "node-2"};
  for (uint32_t s = 0; s < 1024; ++s) {
    auto a = owner_of(s, three);
    if (a != "node-1")
      CHECK(owner_of(s, two) == a);
  }
  CHECK(owner_of(7, {}).empty());
}

TEST_CASE("lease and member records round-trip; malformed ones name the "
          "field") {
  shard_lease l{"node-1", "inc-9", 42};
  auto back = decode_lease(encode(l));
  REQUIRE(back);
  CHECK(back->node == "node-1");
  CHECK(back->incarnation == "inc-9");
  CHECK(back->epoch == 42);
  member_record m{"node-2", "inc-3", 1024};
  auto mb = decode_member(encode(m));
  REQUIRE(mb);
  CHECK(mb->shard_count == 1024);
  auto bad = decode_lease(R"({"node":"a","incarnation":"b","epoch":-1})");
  REQUIRE_FALSE(bad);
  CHECK(is(bad.error(), persistence_error::corrupt_data));
  CHECK(mentions(bad.error(), "\"epoch\""));
  auto bad2 = decode_member(R"({"node":1})");
  REQUIRE_FALSE(bad2);
  CHECK(mentions(bad2.error(), "\"node\""));
  CHECK_FALSE(decode_lease("not json"));
}

TEST_CASE("routed frames round-trip; unannounced types and malformed frames "
          "get a clear error") {
  aether::config cfg;
  caf::actor_system sys{cfg};
  auto msg = caf::make_message(hello_atom::value, int64_t{7}, std::string{"x"});
  auto frame = encode_request(sys, "account", "acc-1", msg);
  REQUIRE(frame);
  auto back = decode_request(sys, *frame);
  REQUIRE(back);
  CHECK(back->type == "account");
  CHECK(back->id == "acc-1");
  CHECK(back->content.match_elements<hello_atom, int64_t, std::string>());
  CHECK(back->content.get_as<int64_t>(1) == 7);
  // A type the system does not know cannot leave the node.
  auto secret = encode_request(sys, "account", "acc-1",
                               caf::make_message(unannounced{3}));
  REQUIRE_FALSE(secret);
  CHECK(is(secret.error(), persistence_error::invalid_argument));
  CHECK(mentions(secret.error(), "not announced"));
  // Truncated, garbage and trailing bytes.
  for (auto bad : {std::string{}, std::string{"hello"},
                   frame->substr(0, frame->size() - 3), *frame + "zz"}) {
    auto r = decode_request(sys, bad);
    REQUIRE_FALSE(r);
    CHECK(mentions(r.error(), "malformed routed message"));
  }
  // Replies: a value, an aether error, not-owner.
  routed_reply ok;
  ok.content = caf::make_message(int64_t{5});
  auto r1 = decode_reply(sys, encode_reply(sys, ok));
  REQUIRE(r1);
  CHECK(r1->status == reply_status::ok);
  CHECK(r1->content.get_as<int64_t>(0) == 5);
  routed_reply err;
  err.status = reply_status::error;
  err.err = make_persistence_error(persistence_error::version_conflict,
                                   "stale");
  auto r2 = decode_reply(sys, encode_reply(sys, err));
  REQUIRE(r2);
  CHECK(r2->status == reply_status::error);
  CHECK(is(r2->err, persistence_error::version_conflict));
  CHECK(mentions(r2->err, "stale"));
  routed_reply odd;
  odd.content = caf::make_message(unannounced{1});
  auto r3 = decode_reply(sys, encode_reply(sys, odd));
  REQUIRE(r3);
  CHECK(r3->status == reply_status::error);
  CHECK(mentions(r3->err, "not announced"));
  CHECK_FALSE(decode_reply(sys, "R"));
}

TEST_CASE("cluster options: each rule names its option") {
  cluster_options o;
  CHECK_FALSE(o.validate());
  auto expect = [](cluster_options x, const std::string& option) {
    auto err = x.validate();
    REQUIRE(err);
    CHECK(is(err, runtime_error::invalid_option));
    CHECK(describe(err).find(option) != std::string::npos);
  };
  auto x = o;
  x.name = "a.b";
  expect(x, "aether.cluster.name");
  x = o;
  x.node_id = "n 1";
  expect(x, "aether.cluster.node-id");
  x = o;
  x.shard_count = 0;
  expect(x, "aether.cluster.shard-count");
  x = o;
  x.renew_interval = o.lease_ttl;
  expect(x, "aether.cluster.renew-interval");
  x = o;
  x.lease_ttl = std::chrono::milliseconds{10};
  expect(x, "aether.cluster.lease-ttl");
  x = o;
  x.poll_interval = std::chrono::milliseconds{0};
  expect(x, "aether.cluster.poll-interval");
  x = o;
  x.request_timeout = std::chrono::milliseconds{0};
  expect(x, "aether.cluster.request-timeout");
  x = o;
  x.replicas = 7;
  expect(x, "aether.cluster.replicas");
}

TEST_CASE("cluster options from CAF's config") {
  auto o = options_from(
    {"--aether.cluster.name=bank", "--aether.cluster.shard-count=16",
     "--aether.cluster.lease-ttl=4s", "--aether.cluster.renew-interval=1s",
     "--aether.cluster.remember-entities"});
  REQUIRE(o);
  CHECK(o->name == "bank");
  CHECK(o->remember_entities);
  CHECK_FALSE(cluster_options{}.remember_entities);
  CHECK(o->shard_count == 16);
  CHECK(o->lease_ttl == std::chrono::seconds{4});
  CHECK(o->renew_interval == std::chrono::seconds{1});
  auto e = options_from({"--aether.cluster.shard-count=0"});
  REQUIRE_FALSE(e);
  CHECK(describe(e.error()).find("shard-count") != std::string::npos);
  auto e2 = options_from({"--aether.cluster.renew-interval=20s"});
  REQUIRE_FALSE(e2);
  CHECK(describe(e2.error()).find("renew-interval") != std::string::npos);
}
