// Typed events and states: the JSON route (Boost.Describe), wire names,
// errors that name the event and the field, and the Go aether's events.
#include "aether/persistence/json_codec.hpp"
#include "aether/persistence/typed_events.hpp"
#include "aether/snapshot/snapshot_codec.hpp"
#include "catch.hpp"
#include "go_sample_event.hpp"

#include <boost/describe.hpp>
#include <boost/json/parse.hpp>
#include <optional>
#include <string>
#include <vector>

using namespace aether;

namespace {

struct line_item {
  std::string sku;
  int64_t qty = 0;
};
BOOST_DESCRIBE_STRUCT(line_item, (), (sku, qty))

struct order_placed {
  static constexpr const char* event_type = "OrderPlaced";
  int64_t total = 0;
  std::vector<std::string> items;
  std::optional<std::string> coupon;
};
BOOST_DESCRIBE_STRUCT(order_placed, (), (total, items, coupon))

struct order_shipped {
  std::string carrier;
  std::vector<line_item> lines;
};
BOOST_DESCRIBE_STRUCT(order_shipped, (), (carrier, lines))
AETHER_EVENT_TYPE(order_shipped, "OrderShipped")

struct order_closed {};
AETHER_EVENT(order_closed, "OrderClosed", ())

using order_events = events<order_placed, order_shipped, order_closed>;

struct order_state {
  int64_t total = 0;
  std::string carrier;
};
BOOST_DESCRIBE_STRUCT(order_state, (), (total, carrier))

event as_event(std::string type, boost::json::value data) {
  auto e = make_event(std::move(type), "order-17", 4, std::move(data));
  e.id = "e-4";
  return e;
}

std::string error_of(const event& e) {
  auto res = order_events::decode(e);
  REQUIRE_FALSE(res);
  CHECK(is(res.error(), persistence_error::corrupt_data));
  return describe(res.error());
}

} // namespace

TEST_CASE("typed events: wire names come from the trait, not the C++ name") {
  CHECK(event_type_name_v<order_placed> == "OrderPlaced");
  CHECK(event_type_name_v<order_shipped> == "OrderShipped");
  CHECK(order_events::names_list() == "OrderPlaced, OrderShipped, OrderClosed");
  CHECK(order_events::contains<order_closed>);
  CHECK_FALSE(order_events::contains<line_item>);
}

TEST_CASE("typed events: every event round-trips through JSON") {
  order_placed placed{1999, {"a", "b"}, std::string{"XMAS"}};
  order_shipped shipped{"dhl", {{"a", 1}, {"b", 2}}};
  auto check = [](auto x, auto eq) {
    using E = decltype(x);
    auto data = order_events::encode(x);
    REQUIRE(data.is_object());
    // Through the wire codec too: what the store writes and reads.
    auto text
      = json_codec::encode(as_event(std::string{event_type_name_v<E>}, data));
    auto stored = json_codec::decode_event(text);
    REQUIRE(stored);
    auto back = order_events::decode(*stored);
    REQUIRE(back);
    REQUIRE(back->has_value());
    REQUIRE(std::holds_alternative<E>(**back));
    CHECK(eq(std::get<E>(**back), x));
  };
  check(placed, [](const order_placed& a, const order_placed& b) {
    return a.total == b.total && a.items == b.items && a.coupon == b.coupon;
  });
  check(shipped, [](const order_shipped& a, const order_shipped& b) {
    return a.carrier == b.carrier && a.lines.size() == b.lines.size()
           && a.lines[1].sku == b.lines[1].sku && a.lines[1].qty == 2;
  });
  check(order_closed{}, [](const order_closed&, const order_closed&) {
    return true;
  });
  CHECK(order_events::encode(order_closed{}) == boost::json::object{});
}

TEST_CASE("typed events: the Go aether's event decodes into a typed struct") {
  auto text = aether::test::go_sample_event;
  auto e = json_codec::decode_event(text);
  REQUIRE(e);
  auto typed = order_events::decode(*e);
  REQUIRE(typed);
  REQUIRE(typed->has_value());
  auto& placed = std::get<order_placed>(**typed);
  CHECK(placed.total == 1999);
  CHECK(placed.items == std::vector<std::string>{"a", "b"});
  CHECK_FALSE(placed.coupon); // absent optional field: empty
}

TEST_CASE("typed events: a corrupt payload names the event and the field") {
  auto msg = error_of(as_event(
    "OrderPlaced", {{"total", "12"}, {"items", boost::json::array{}}}));
  CHECK(msg.find("e-4") != std::string::npos);
  CHECK(msg.find("OrderPlaced") != std::string::npos);
  CHECK(msg.find("field \"total\"") != std::string::npos);
  CHECK(msg.find("got a string") != std::string::npos);
  msg = error_of(as_event("OrderPlaced", {{"items", boost::json::array{}}}));
  CHECK(msg.find("field \"total\": missing") != std::string::npos);
  msg = error_of(as_event(
    "OrderShipped",
    {{"carrier", "x"},
     {"lines", boost::json::array{boost::json::object{{"sku", "a"}}}}}));
  // Nested structs: the path down to the field.
  CHECK(msg.find("lines") != std::string::npos);
  msg = error_of(
    as_event("OrderPlaced", {{"total", 1.5}, {"items", boost::json::array{}}}));
  CHECK(msg.find("field \"total\"") != std::string::npos);
}

TEST_CASE("typed events: an unknown type decodes to nothing, not an error") {
  auto res = order_events::decode(as_event("OrderLost", {}));
  REQUIRE(res);
  CHECK_FALSE(res->has_value());
}

TEST_CASE("typed events: extra fields are ignored (newer writers)") {
  auto res = order_events::decode(as_event(
    "OrderShipped",
    {{"carrier", "ups"}, {"lines", boost::json::array{}}, {"eta", 3}}));
  REQUIRE(res);
  CHECK(std::get<order_shipped>(**res).carrier == "ups");
}

TEST_CASE("snapshot codec: derived for a described state") {
  using codec = snapshot_codec<order_state>;
  STATIC_REQUIRE(codec::enabled);
  STATIC_REQUIRE_FALSE(codec::hand_written);
  order_state s{42, "dhl"};
  auto json = codec::encode(s);
  CHECK(json == boost::json::object{{"total", 42}, {"carrier", "dhl"}});
  order_state back;
  REQUIRE_FALSE(codec::decode(json, back));
  CHECK(back.total == 42);
  CHECK(back.carrier == "dhl");
  auto err = codec::decode(boost::json::object{{"total", 1}}, back);
  REQUIRE(err);
  CHECK(describe(err).find("field \"carrier\": missing") != std::string::npos);
  STATIC_REQUIRE_FALSE(snapshot_codec<line_item*>::enabled);
}

namespace shop {

using tags = std::vector<std::string>;
AETHER_DEFINE_EVENT(item_added, "ItemAdded", (std::string, sku), (int64_t, qty),
                    (tags, labels), (std::optional<std::string>, note))

} // namespace shop

TEST_CASE("typed events: AETHER_DEFINE_EVENT defines the struct in one line") {
  using shop::item_added;
  using set = events<item_added>;
  static_assert(event_type_name_v<item_added> == "ItemAdded");
  item_added x;
  CHECK(x.qty == 0); // fields are value-initialised
  CHECK_FALSE(x.note);
  x.sku = "a-1";
  x.qty = 3;
  x.labels = {"red", "big"};
  auto data = set::encode(x);
  CHECK(data
        == boost::json::parse(R"({"sku":"a-1","qty":3,"labels":["red","big"],)"
                              R"("note":null})"));
  event e;
  e.id = "e-1";
  e.type = "ItemAdded";
  e.data = data;
  auto back = set::decode(e);
  REQUIRE(back);
  REQUIRE(back->has_value());
  auto& y = std::get<item_added>(**back);
  CHECK(y.sku == "a-1");
  CHECK(y.qty == 3);
  CHECK(y.labels == shop::tags{"red", "big"});
  CHECK_FALSE(y.note);
}
