// Projections in a cluster, on a real nats-server: offsets in a NATS KV
// bucket (the offset store contract), a projection running on one node at
// a time, moving without a gap when that node dies or leaves.
#include "aether/cluster/local_cluster.hpp"
#include "aether/cluster_projections/cluster_projections.hpp"
#include "aether/cluster_projections/kv_offset_store.hpp"
#include "aether/core/error.hpp"
#include "aether/jetstream/jetstream_store.hpp"
#include "aether/nats/kv_bucket.hpp"
#include "aether/testkit/cluster_testkit.hpp"
#include "catch.hpp"
#include "eventually.hpp"
#include "nats_server.hpp"
#include "offset_store_conformance.hpp"

#include <atomic>
#include <map>
#include <mutex>
#include <set>

using namespace aether;
using namespace aether::test;
using namespace std::chrono_literals;

namespace {

std::shared_ptr<nats_connection> connect() {
  auto conn = nats_connection::connect(shared_nats_options());
  REQUIRE(conn);
  return *conn;
}

std::string fresh_name() {
  static std::atomic<int> n{0};
  return "p" + std::to_string(::getpid()) + "-" + std::to_string(++n);
}

/// What the projection handled, on which node (the node's index).
struct journal {
  std::mutex mtx;
  std::map<int64_t, std::vector<size_t>> by_position;
  void add(int64_t position, size_t node) {
    std::lock_guard<std::mutex> guard{mtx};
    by_position[position].push_back(node);
  }
  /// Every position of `written` handled at least once.
  bool covers(const std::set<int64_t>& written) {
    std::lock_guard<std::mutex> guard{mtx};
    for (auto p : written)
      if (by_position.count(p) == 0)
        return false;
    return true;
  }
  std::map<int64_t, std::vector<size_t>> get() {
    std::lock_guard<std::mutex> guard{mtx};
    return by_position;
  }
};

/// Nodes whose projection "balances" (at-least-once, offsets in the KV
/// bucket `<name>_offsets`) reads the JetStream store `<name>`, each node
/// with its own connections; node `i` writes `i` into the journal.
struct projection_cluster {
  std::string name = fresh_name();
  std::shared_ptr<journal> seen = std::make_shared<journal>();
  std::shared_ptr<std::atomic<size_t>> started
    = std::make_shared<std::atomic<size_t>>(0);
  /// Starts of the projection that throw before one succeeds.
  std::shared_ptr<std::atomic<int>> failing_starts
    = std::make_shared<std::atomic<int>>(0);
  std::unique_ptr<local_cluster> nodes;
  std::map<size_t, std::unique_ptr<cluster_projections>> keepers;
  std::shared_ptr<jetstream_store> writer;

  projection_cluster() {
    local_cluster::setup s;
    s.nats = shared_nats_options();
    s.options = testkit::cluster_testkit_options::test_defaults();
    s.options.name = name;
    auto ns = name;
    auto log = seen;
    auto count = started;
    auto failing = failing_starts;
    s.make_types = [ns, log, count, failing](caf::actor_system&) {
      // local_cluster builds node i's types when it starts node i.
      auto node = count->fetch_add(1);
      auto conn = connect();
      jetstream_store::options so;
      so.ns = ns;
      auto store = jetstream_store::open(conn, so);
      REQUIRE(store);
      std::shared_ptr<event_store> events = std::move(*store);
      kv_offset_store::options ko;
      ko.bucket = ns + "_offsets";
      auto offsets = kv_offset_store::open(conn, ko);
      REQUIRE(offsets);
      std::shared_ptr<offset_store> kept = std::move(*offsets);
      entity_types types;
      cluster_projections::add_to(
        types, {{"balances", [events, kept, log, node, failing] {
                   if (failing->fetch_sub(1) > 0)
                     throw std::runtime_error("a start that fails on purpose");
                   projection_options o;
                   o.name = "balances";
                   o.batch_size = 8;
                   o.poll_interval = 5ms;
                   o.max_backoff = 50ms;
                   return projection::at_least_once(
                     events, o, kept,
                     [log, node](const positioned_event& x) -> caf::error {
                       log->add(x.position, node);
                       return caf::none;
                     });
                 }}});
      return types;
    };
    nodes = std::make_unique<local_cluster>(s);
    auto conn = connect();
    jetstream_store::options so;
    so.ns = name;
    auto store = jetstream_store::open(conn, so);
    REQUIRE(store);
    writer = std::move(*store);
  }

  ~projection_cluster() {
    keepers.clear(); // before the nodes leave
  }

  void start(size_t n) {
    for (size_t i = 0; i < n; ++i)
      REQUIRE(nodes->add_node());
    REQUIRE(nodes->wait_balanced(20s));
    for (size_t i = 0; i < n; ++i) {
      auto keeper = cluster_projections::keep_running(nodes->node(i),
                                                      {"balances"}, 100ms);
      REQUIRE(keeper);
      keepers[i] = std::move(*keeper);
    }
  }

  /// Deposits into acc-0 .. acc-4, `n` events in all; their positions.
  std::set<int64_t> write(int n, int64_t& version) {
    std::set<int64_t> out;
    for (int i = 0; i < n; ++i) {
      auto account = "acc-" + std::to_string(i % 5);
      auto v = version + 1 + i / 5;
      auto r = writer->save_event(make_event(
        "deposited", account, v, boost::json::object{{"amount", 1}}));
      REQUIRE(r);
    }
    version += n / 5;
    auto all = writer->events_by_namespace(0, 100000);
    REQUIRE(all);
    for (auto& x : all->events)
      out.insert(x.position);
    return out;
  }

  /// Starts two nodes, writes `n` events and waits until all are handled.
  std::set<int64_t> start_and_write(int n, int64_t& version) {
    start(2);
    auto written = write(n, version);
    REQUIRE(eventually(
      [&] {
        return seen->covers(written);
      },
      30s));
    return written;
  }

  /// The one node that runs the projection (waits for it).
  size_t owner() {
    std::vector<size_t> found;
    REQUIRE(eventually([&] {
      return (found = runners()).size() == 1;
    }));
    return found.front();
  }

  /// The running nodes that run the projection now.
  std::vector<size_t> runners() {
    std::vector<size_t> out;
    for (size_t i = 0; i < nodes->size(); ++i) {
      if (!nodes->running(i))
        continue;
      for (auto& e : nodes->node(i).active_entities())
        if (e == std::string{cluster_projections::entity_type} + "/balances")
          out.push_back(i);
    }
    return out;
  }
};

} // namespace

TEST_CASE("offset stores keep the contract: NATS KV, shared by nodes") {
  auto conn = connect();
  auto store = kv_offset_store::open(conn);
  REQUIRE(store);
  check_offset_store(**store, fresh_name() + "-");
  // Another connection (another node) reads what this one stored.
  REQUIRE(!(*store)->save("shared", {0, 1, 77}));
  auto other = kv_offset_store::open(connect());
  REQUIRE(other);
  auto got = (*other)->load("shared");
  REQUIRE(got);
  REQUIRE(got->size() == 1);
  CHECK(got->front().position == 77);
}

TEST_CASE("kv_bucket: create writes over a deleted key, never over a value") {
  auto bucket = kv_bucket::open(connect(), {fresh_name() + "_kv", 0ms, 1});
  REQUIRE(bucket);
  auto& b = **bucket;
  REQUIRE(b.create("k", "1"));
  auto twice = b.create("k", "2");
  REQUIRE(!twice);
  CHECK(twice.error() == persistence_error::version_conflict);
  REQUIRE(!b.remove("k"));
  REQUIRE(b.create("k", "3")); // before the fix: a conflict for ever
  auto got = b.get("k");
  REQUIRE(got);
  REQUIRE(*got);
  CHECK((*got)->value == "3");
  auto again = b.create("k", "4");
  REQUIRE(!again);
  CHECK(again.error() == persistence_error::version_conflict);
}

TEST_CASE("a KV offset store refuses bad values, names and offsets clearly; "
          "its offsets only move forward") {
  auto conn = connect();
  kv_offset_store::options o;
  o.bucket = fresh_name() + "_bad";
  auto store = kv_offset_store::open(conn, o);
  REQUIRE(store);
  auto raw = kv_bucket::open(conn, {o.bucket, 0ms, 1});
  REQUIRE(raw);
  REQUIRE((*raw)->put("broken.0", "three 12"));
  auto got = (*store)->load("broken");
  REQUIRE(!got);
  CHECK(got.error() == persistence_error::corrupt_data);
  CHECK(describe(got.error()).find("broken.0") != std::string::npos);
  auto err = (*store)->save("p", {2, 2, 5});
  REQUIRE(err);
  CHECK(describe(err).find("offset") != std::string::npos);
  auto nothing = (*store)->load("p");
  REQUIRE(nothing);
  CHECK(nothing->empty());
  // Names that are no KV key are refused, naming the projection.
  auto dotted = (*store)->save(".p", {0, 1, 5});
  REQUIRE(dotted);
  CHECK(describe(dotted).find("projection") != std::string::npos);
  REQUIRE(!(*store)->load("p."));
  // A worker count that does not fit is corrupt, not a mismatch.
  REQUIRE((*raw)->put("huge.0", "99999999999999999999 5"));
  auto huge = (*store)->load("huge");
  REQUIRE(!huge);
  CHECK(huge.error() == persistence_error::corrupt_data);
  // Offsets only move forward: a late, lower save keeps the higher one;
  // another worker count replaces it; a drop starts over.
  REQUIRE(!(*store)->save("m", {0, 1, 10}));
  REQUIRE(!(*store)->save("m", {0, 1, 4}));
  auto kept = (*store)->load("m");
  REQUIRE(kept);
  REQUIRE(kept->size() == 1);
  CHECK(kept->front().position == 10);
  REQUIRE(!(*store)->save("m", {0, 2, 3}));
  kept = (*store)->load("m");
  REQUIRE(kept);
  REQUIRE(kept->size() == 1);
  CHECK(kept->front().workers == 2);
  CHECK(kept->front().position == 3);
  REQUIRE(!(*store)->drop("m"));
  REQUIRE(!(*store)->save("m", {0, 2, 1}));
  kept = (*store)->load("m");
  REQUIRE(kept);
  REQUIRE(kept->size() == 1);
  CHECK(kept->front().position == 1);
  // A bucket made with other settings is refused, naming the setting.
  kv_offset_store::options r3;
  r3.bucket = o.bucket;
  r3.replicas = 3;
  auto refused = kv_offset_store::open(conn, r3);
  REQUIRE(!refused);
  CHECK(describe(refused.error()).find("replicas") != std::string::npos);
}

TEST_CASE("a cluster projection runs on one node; when that node dies it "
          "moves to another and no event is missed") {
  projection_cluster c;
  int64_t version = 0;
  auto first = c.start_and_write(50, version);
  auto owner = c.owner();
  auto other = 1 - owner;
  for (auto& kv : c.seen->get())
    CHECK(kv.second == std::vector<size_t>{owner}); // once, on the owner
  // Both nodes' asks are answered: the other node's through the owner.
  REQUIRE(eventually([&] {
    for (auto& k : c.keepers) {
      auto h = k.second->health();
      if (h.size() != 1 || h.begin()->second)
        return false;
    }
    return true;
  }));
  // The owner dies: no leave, no hand-over; its lease expires. Events
  // written meanwhile wait for the next node (the dying one may still
  // handle some in its last read).
  c.keepers.erase(owner);
  c.nodes->crash(owner);
  auto during = c.write(25, version);
  REQUIRE(eventually(
    [&] {
      return c.runners() == std::vector<size_t>{other};
    },
    30s));
  auto second = c.write(25, version);
  REQUIRE(eventually(
    [&] {
      return c.seen->covers(second);
    },
    30s));
  CHECK(c.runners() == std::vector<size_t>{other});
  auto seen = c.seen->get();
  std::set<int64_t> after_move;
  for (auto p : second)
    if (during.count(p) == 0)
      after_move.insert(p);
  REQUIRE(after_move.size() == 25);
  for (auto p : after_move)
    CHECK(seen[p] == std::vector<size_t>{other});
  REQUIRE(eventually([&] {
    auto h = c.keepers.at(other)->health();
    return h.size() == 1 && !h.begin()->second;
  }));
}

TEST_CASE("a cluster projection moves when its node leaves: the next node "
          "starts at the stored offset, nothing missed, nothing twice") {
  projection_cluster c;
  int64_t version = 0;
  auto first = c.start_and_write(40, version);
  auto owner = c.owner();
  auto other = 1 - owner;
  c.keepers.erase(owner);
  REQUIRE(!c.nodes->leave(owner));
  auto second = c.write(40, version);
  REQUIRE(eventually(
    [&] {
      return c.seen->covers(second);
    },
    30s));
  CHECK(c.runners() == std::vector<size_t>{other});
  for (auto& kv : c.seen->get()) {
    CHECK(kv.second.size() == 1); // a hand-over stores its offset first
    CHECK(kv.second.back() == (first.count(kv.first) ? owner : other));
  }
}

TEST_CASE("a cluster projection whose start fails is asked again; the error "
          "shows in health() meanwhile; a zero interval is refused") {
  projection_cluster c;
  *c.failing_starts = 3;
  c.start(1);
  std::string seen_error;
  REQUIRE(eventually([&] {
    auto h = c.keepers.at(0)->health();
    if (h.size() == 1 && h.begin()->second)
      seen_error = describe(h.begin()->second);
    return seen_error.find("on purpose") != std::string::npos;
  }));
  int64_t version = 0;
  auto written = c.write(10, version);
  REQUIRE(eventually(
    [&] {
      return c.seen->covers(written);
    },
    30s));
  CHECK(*c.failing_starts <= 0);
  REQUIRE(eventually([&] {
    auto h = c.keepers.at(0)->health();
    return h.size() == 1 && !h.begin()->second;
  }));
  auto refused = cluster_projections::keep_running(c.nodes->node(0),
                                                   {"balances"}, 0ms);
  REQUIRE(!refused);
  CHECK(describe(refused.error()).find("interval") != std::string::npos);
}
