#include "aether/snapshot/retention_plan.hpp"
#include "catch.hpp"

#include <limits>
#include <vector>

using aether::retention_plan;

namespace {

// Snapshots at versions 10, 8, 6, 4, 2 (newest first).
const std::vector<int64_t> five{10, 8, 6, 4, 2};

} // namespace

TEST_CASE("retention plan: how many snapshots it reads") {
  CHECK(retention_plan::snapshots_needed(0, false) == 0);
  CHECK(retention_plan::snapshots_needed(3, false) == 3);
  CHECK(retention_plan::snapshots_needed(3, true) == 3);
  CHECK(retention_plan::snapshots_needed(0, true)
        == std::numeric_limits<size_t>::max());
}

TEST_CASE("retention plan: keeps the newest, deletes below the oldest kept") {
  SECTION("keep 3 of 5") {
    auto p = retention_plan::make({10, 8, 6}, 3, false);
    CHECK(p.delete_snapshots_below == 6);
    CHECK(p.delete_events_to == 0);
  }
  SECTION("keep 2 and delete events") {
    auto p = retention_plan::make({10, 8}, 2, true);
    CHECK(p.delete_snapshots_below == 8);
    CHECK(p.delete_events_to == 8);
  }
  SECTION("keep 1: only the one just saved") {
    auto p = retention_plan::make({10}, 1, true);
    CHECK(p.delete_snapshots_below == 10);
    CHECK(p.delete_events_to == 10);
  }
  SECTION("keep all and delete the events up to the oldest") {
    auto p = retention_plan::make(five, 0, true);
    CHECK(p.delete_snapshots_below == 0);
    CHECK(p.delete_events_to == 2);
  }
  SECTION("more versions read than kept: only the first `keep` count") {
    auto p = retention_plan::make(five, 2, false);
    CHECK(p.delete_snapshots_below == 8);
  }
  SECTION("fewer snapshots than keep: keeps them all") {
    auto p = retention_plan::make({10, 8}, 5, true);
    CHECK(p.delete_snapshots_below == 8);
    CHECK(p.delete_events_to == 8);
  }
  SECTION("the oldest kept at version 1: nothing below it") {
    auto p = retention_plan::make({3, 1}, 2, false);
    CHECK(p.delete_snapshots_below == 0);
  }
  SECTION("no policy: nothing") {
    auto p = retention_plan::make(five, 0, false);
    CHECK(p.delete_snapshots_below == 0);
    CHECK(p.delete_events_to == 0);
  }
  SECTION("no versions: nothing") {
    auto p = retention_plan::make({}, 2, true);
    CHECK(p.delete_snapshots_below == 0);
    CHECK(p.delete_events_to == 0);
  }
}
