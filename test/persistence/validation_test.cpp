#include "aether/core/error.hpp"
#include "aether/core/uuid.hpp"
#include "aether/persistence/validation.hpp"
#include "catch.hpp"

#include <cmath>
#include <limits>

using namespace aether;

TEST_CASE("validation: actor ids") {
  CHECK_FALSE(validate_actor_id("account-1"));
  CHECK_FALSE(validate_actor_id("tenant.a/b:c_d~!"));
  CHECK_FALSE(validate_actor_id(std::string(255, 'a')));
  for (std::string bad :
       {std::string{}, std::string(256, 'a'), std::string{"a b"},
        std::string{"a\nb"}, std::string{"a*"}, std::string{">"},
        std::string{"\x7f"}, std::string{"\xff"}}) {
    auto err = validate_actor_id(bad);
    CHECK(is(err, persistence_error::invalid_argument));
    CHECK(describe(err).rfind("actor_id: ", 0) == 0);
  }
}

TEST_CASE("validation: events") {
  auto e = make_event("t", "a", 1);
  CHECK_FALSE(validate_event(e));
  e.data = boost::json::object{{"x", std::numeric_limits<double>::infinity()}};
  CHECK(describe(validate_event(e)).find("finite") != std::string::npos);
  e.data = boost::json::object{
    {"x", boost::json::array{std::numeric_limits<double>::quiet_NaN()}}};
  CHECK(is(validate_event(e), persistence_error::invalid_argument));
  e.data = boost::json::object{};
  e.type = std::string(1025, 't');
  CHECK(describe(validate_event(e)).find("type") != std::string::npos);
  e.type = "t";
  e.version = std::numeric_limits<int64_t>::min();
  CHECK(describe(validate_event(e)).find("version") != std::string::npos);
  e.version = std::numeric_limits<int64_t>::max();
  CHECK_FALSE(validate_event(e));
}

TEST_CASE("validation: prepare_events fills ids and checks limits") {
  store_limits limits;
  limits.max_event_bytes = 300;
  std::vector<event> batch{make_event("t", "a", 1), make_event("t", "a", 2)};
  batch[0].id.clear();
  batch[0].time = timestamp{};
  auto enc = prepare_events(batch, limits);
  REQUIRE(enc);
  CHECK(enc->size() == 2);
  CHECK(batch[0].id.size() == 36);
  CHECK(batch[0].time.time_since_epoch().count() > 0);
  batch[1].data = boost::json::object{{"x", std::string(400, 'y')}};
  auto too_big = prepare_events(batch, limits);
  REQUIRE_FALSE(too_big);
  CHECK(describe(too_big.error()).find("exceeds the limit of 300 bytes")
        != std::string::npos);
}

TEST_CASE("uuid: version 4 format, unique") {
  auto a = make_uuid();
  auto b = make_uuid();
  CHECK(a != b);
  REQUIRE(a.size() == 36);
  CHECK(a[8] == '-');
  CHECK(a[14] == '4');
  CHECK((a[19] == '8' || a[19] == '9' || a[19] == 'a' || a[19] == 'b'));
}
