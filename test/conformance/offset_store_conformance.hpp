// The contract of every offset_store (memory, SQLite, NATS KV): what is
// saved is loaded back by worker, the latest save wins, projections whose
// names share a prefix stay apart, drop forgets one projection only.
#pragma once

#include "aether/projections/offset_store.hpp"
#include "catch.hpp"

#include <string>

namespace aether::test {

inline void check_offset_store(offset_store& s, const std::string& prefix) {
  auto a = prefix + "a";
  auto ab = prefix + "a.b";
  auto a0 = prefix + "a.0"; // a name that looks like a worker key of "a"
  auto none = s.load(a);
  REQUIRE(none);
  CHECK(none->empty());
  REQUIRE(!s.save(a, {1, 2, 40}));
  REQUIRE(!s.save(a, {0, 2, 7}));
  REQUIRE(!s.save(ab, {0, 1, 99}));
  REQUIRE(!s.save(a0, {0, 1, 5}));
  REQUIRE(!s.save(a, {0, 2, 12})); // the latest save wins
  auto got = s.load(a);
  REQUIRE(got);
  REQUIRE(got->size() == 2);
  CHECK((*got)[0].worker == 0);
  CHECK((*got)[0].workers == 2);
  CHECK((*got)[0].position == 12);
  CHECK((*got)[1].worker == 1);
  CHECK((*got)[1].workers == 2);
  CHECK((*got)[1].position == 40);
  auto other = s.load(ab);
  REQUIRE(other);
  REQUIRE(other->size() == 1);
  CHECK(other->front().position == 99);
  REQUIRE(!s.drop(a));
  auto dropped = s.load(a);
  REQUIRE(dropped);
  CHECK(dropped->empty());
  auto kept = s.load(ab);
  REQUIRE(kept);
  CHECK(kept->size() == 1);
  auto kept0 = s.load(a0);
  REQUIRE(kept0);
  REQUIRE(kept0->size() == 1);
  CHECK(kept0->front().position == 5);
  // Saved again after a drop: a rebuild starts over.
  REQUIRE(!s.save(a, {0, 1, 3}));
  auto again = s.load(a);
  REQUIRE(again);
  REQUIRE(again->size() == 1);
  CHECK(again->front().workers == 1);
  CHECK(again->front().position == 3);
}

} // namespace aether::test
