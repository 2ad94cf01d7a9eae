#include "aether/persistence/memory_store.hpp"
#include "catch.hpp"

namespace {

struct memory_backend {
  static constexpr const char* name = "memory";
  aether::memory_store instance;
  aether::event_store_with_snapshots& store() {
    return instance;
  }
  aether::event_store_with_snapshots& other_store() {
    return instance;
  }
  void corrupt_event(const std::string& actor, int64_t version,
                     const std::string& raw) {
    REQUIRE(instance.corrupt_event_for_testing(actor, version, raw));
  }
  void corrupt_snapshot(const std::string& actor, int64_t version,
                        const std::string& raw) {
    instance.corrupt_snapshot_for_testing(actor, version, raw);
  }
};

using conformance_backends = std::tuple<memory_backend>;

} // namespace

#include "store_conformance.hpp"

TEST_CASE("memory store: reading version k does not walk the history") {
  aether::memory_store s;
  std::vector<aether::event> batch;
  for (int64_t v = 1; v <= 1000; ++v)
    batch.push_back(ev("long", v));
  REQUIRE(s.save_events(batch));
  auto before = s.events_read();
  auto res = s.get_events("long", 700, 700);
  REQUIRE(res);
  REQUIRE(res->size() == 1);
  CHECK(res->front().version == 700);
  CHECK(s.events_read() - before == 1);
}

TEST_CASE("memory store: callers cannot mutate stored events") {
  aether::memory_store s;
  auto e = ev("a", 1);
  REQUIRE(s.save_event(e));
  auto res = s.get_events("a", 1);
  REQUIRE(res);
  (*res)[0].data.as_object()["amount"] = -1;
  auto again = s.get_events("a", 1);
  REQUIRE(again);
  CHECK((*again)[0].data.at("amount") == 10);
}

TEST_CASE("memory store: an undecodable snapshot names its version") {
  aether::memory_store s;
  REQUIRE_FALSE(s.save_snapshot(snap("a", 3)));
  s.corrupt_snapshot_for_testing("a", 5, "garbage");
  auto res = s.get_latest_snapshot("a");
  REQUIRE_FALSE(res);
  CHECK(aether::get_corrupt_snapshot_version(res.error()) == int64_t{5});
  aether::snapshot_criteria c;
  c.max_version = 4;
  auto older = s.get_latest_snapshot("a", c);
  REQUIRE(older);
  REQUIRE(*older);
  CHECK((*older)->version == 3);
}
