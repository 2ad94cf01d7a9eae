#include "aether/core/error.hpp"
#include "aether/persistence/json_codec.hpp"
#include "catch.hpp"
#include "go_sample_event.hpp"

#include <boost/json/parse.hpp>

using namespace aether;
namespace json = boost::json;

TEST_CASE("codec: events use the Go aether's field names") {
  auto e = make_event("deposited", "acc-1", 3,
                      json::object{{"amount", 42}, {"big", 9007199254740993}});
  e.time = parse_rfc3339("2024-05-01T10:00:00.123456789Z").value();
  auto v = json_codec::to_json(e);
  auto& o = v.as_object();
  CHECK(o.size() == 6);
  CHECK(o.at("id") == boost::json::value(e.id));
  CHECK(o.at("eventType") == "deposited");
  CHECK(o.at("actorId") == "acc-1");
  CHECK(o.at("version") == 3);
  CHECK(o.at("timestamp") == "2024-05-01T10:00:00.123456789Z");
  CHECK_FALSE(o.contains("commandId"));
  CHECK_FALSE(o.contains("metadata"));
  e.command_id = "c1";
  e.set_correlation_id("corr");
  auto o2 = json_codec::to_json(e).as_object();
  CHECK(o2.at("commandId") == "c1");
  CHECK(o2.at("metadata").at("correlationId") == "corr");
}

TEST_CASE("codec: round trip keeps integers as integers") {
  auto e = make_event("x", "a", 1,
                      json::object{{"i", 9007199254740993},
                                   {"neg", -5},
                                   {"d", 1.5},
                                   {"nested", json::array{1, "two", nullptr}}});
  e.command_id = "cmd";
  e.set_trace_id("t");
  auto back = json_codec::decode_event(json_codec::encode(e));
  REQUIRE(back);
  CHECK(*back == e);
  CHECK(back->data.at("i").is_int64());
  CHECK(back->data.at("i").as_int64() == 9007199254740993);
  CHECK(back->data.at("d").is_double());
}

TEST_CASE("codec: reads an event written by the Go aether") {
  auto text = aether::test::go_sample_event;
  auto e = json_codec::decode_event(text);
  REQUIRE(e);
  CHECK(e->type == "OrderPlaced");
  CHECK(e->actor_id == "order-17");
  CHECK(e->command_id == "cmd-1");
  CHECK(e->version == 2);
  CHECK(e->data.at("total").as_int64() == 1999);
  CHECK(e->correlation_id() == "c-1");
  CHECK(e->causation_id() == "e-0");
  CHECK(format_rfc3339(e->time) == "2024-03-05T11:34:56.789012345Z");
}

TEST_CASE("codec: decoding names the broken field") {
  auto bad = [](const char* text) {
    auto e = json_codec::decode_event(text);
    REQUIRE_FALSE(e);
    CHECK(is(e.error(), persistence_error::corrupt_data));
    return describe(e.error());
  };
  CHECK(bad("{").find("invalid JSON") != std::string::npos);
  CHECK(bad("[]").find("not a JSON object") != std::string::npos);
  CHECK(bad(R"({"eventType":"x"})").find("\"id\"") != std::string::npos);
  CHECK(bad(R"({"id":"1","eventType":"x","actorId":"a","version":"1",)"
            R"("data":{},"timestamp":"2024-01-01T00:00:00Z"})")
          .find("version")
        != std::string::npos);
  CHECK(bad(R"({"id":"1","eventType":"x","actorId":"a","version":1,)"
            R"("data":[],"timestamp":"2024-01-01T00:00:00Z"})")
          .find("data")
        != std::string::npos);
  CHECK(bad(R"({"id":"1","eventType":"x","actorId":"a","version":1,)"
            R"("data":{},"timestamp":"yesterday"})")
          .find("timestamp")
        != std::string::npos);
  std::string deep(10000, '[');
  CHECK(bad(("{\"id\":" + deep).c_str()).find("invalid JSON")
        != std::string::npos);
}

TEST_CASE("codec: snapshots round-trip with their store position") {
  actor_snapshot s;
  s.actor_id = "acc";
  s.version = 7;
  s.state = json::object{{"balance", 70}};
  s.time = now();
  s.store_position = 1234;
  auto text = json_codec::encode(s);
  auto back = json_codec::decode_snapshot(text);
  REQUIRE(back);
  CHECK(*back == s);
  CHECK(back->store_position == 1234);
  auto o = json::parse(text).as_object();
  CHECK(o.contains("actorId"));
  CHECK(o.contains("state"));
  s.store_position = 0;
  CHECK_FALSE(
    json::parse(json_codec::encode(s)).as_object().contains("storePosition"));
}

TEST_CASE("time: RFC 3339 formatting and parsing") {
  auto t = parse_rfc3339("1970-01-01T00:00:00Z");
  REQUIRE(t);
  CHECK(t->time_since_epoch().count() == 0);
  CHECK(format_rfc3339(*t) == "1970-01-01T00:00:00Z");
  auto u = parse_rfc3339("2000-02-29T23:59:59.5-00:30");
  REQUIRE(u);
  CHECK(format_rfc3339(*u) == "2000-03-01T00:29:59.5Z");
  auto n = now();
  CHECK(parse_rfc3339(format_rfc3339(n)) == n);
  CHECK_FALSE(parse_rfc3339("2024-13-01T00:00:00Z"));
  CHECK_FALSE(parse_rfc3339("2024-01-01 00:00:00"));
  CHECK_FALSE(parse_rfc3339("2024-01-01T00:00:00"));
  CHECK_FALSE(parse_rfc3339("2024-01-01T00:00:00Zjunk"));
  // Regression (found by fuzz_event): years outside the int64 nanosecond
  // range overflowed; they are refused, naming the range.
  for (auto out : {"1013-11-28T12:00:00Z", "1677-01-01T00:00:00Z",
                   "2263-01-01T00:00:00Z", "9999-12-31T23:59:59Z"}) {
    auto r = parse_rfc3339(out);
    REQUIRE_FALSE(r);
    CHECK(describe(r.error()).find("out of range") != std::string::npos);
  }
  auto early = parse_rfc3339("1678-01-01T00:00:00Z");
  REQUIRE(early);
  CHECK(format_rfc3339(*early) == "1678-01-01T00:00:00Z");
  auto late = parse_rfc3339("2261-12-31T23:59:59.999999999Z");
  REQUIRE(late);
  CHECK(format_rfc3339(*late) == "2261-12-31T23:59:59.999999999Z");
}

TEST_CASE("codec: reads what Go's encoding/json writes for empty values") {
  // Go writes a nil map as null and an unset time.Time as its zero time.
  auto text = R"({"id":"6f1c2a9e-1f0b-4c5e-9a4d-2b7e8c1d0f3a",)"
              R"("eventType":"Pinged","actorId":"a-1","commandId":"",)"
              R"("version":1,"data":null,"metadata":null,)"
              R"("timestamp":"0001-01-01T00:00:00Z"})";
  auto e = json_codec::decode_event(text);
  REQUIRE(e);
  CHECK(e->data == boost::json::value(boost::json::object{}));
  CHECK(e->metadata.empty());
  CHECK(e->time.time_since_epoch().count() == 0);
}

TEST_CASE("time: parsing is as strict as Go's") {
  // Refused by Go's time.Parse(time.RFC3339, ...), so refused here.
  for (auto bad :
       {"2023-02-29T00:00:00Z", "2024-02-30T00:00:00Z", "2024-04-31T00:00:00Z",
        "2024-01-01T00:00:60Z", "2024-01-01T00:00:00+24:00",
        "2024-01-01T00:00:00+05:60", "1900-02-29T00:00:00Z"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_rfc3339(bad));
  }
  for (auto good : {"2024-02-29T00:00:00Z", "2000-02-29T00:00:00Z",
                    "2024-01-31T23:59:59+23:59"}) {
    CAPTURE(good);
    CHECK(parse_rfc3339(good));
  }
}
