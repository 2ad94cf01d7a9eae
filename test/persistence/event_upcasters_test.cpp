#include "aether/core/error.hpp"
#include "aether/persistence/event_upcasters.hpp"
#include "catch.hpp"

#include <stdexcept>

using namespace aether;

namespace {

using step = event_upcasters::step;

event old_event(std::string type, boost::json::object data,
                std::string schema = {}) {
  auto e = make_event(std::move(type), "acc-1", 7, std::move(data));
  if (!schema.empty())
    e.set_metadata(metadata_keys::schema_version, schema);
  return e;
}

// v1 -> v2: `amt` becomes `amount`; v2 -> v3: `amount` in cents.
std::vector<step> deposited_chain() {
  return {
    {"deposited", 1,
     [](const event& e) {
       auto out = e;
       auto& o = out.data.as_object();
       o["amount"] = o["amt"];
       o.erase("amt");
       return std::vector<event>{out};
     }},
    {"deposited", 2,
     [](const event& e) {
       auto out = e;
       auto& o = out.data.as_object();
       o["amount"] = o["amount"].as_int64() * 100;
       return std::vector<event>{out};
     }},
  };
}

std::shared_ptr<const event_upcasters> made(std::vector<step> steps) {
  auto u = event_upcasters::make(std::move(steps));
  if (!u)
    FAIL(describe(u.error()));
  return *u;
}

std::string refused(std::vector<step> steps) {
  auto u = event_upcasters::make(std::move(steps));
  REQUIRE_FALSE(u);
  CHECK(is(u.error(), persistence_error::invalid_argument));
  return describe(u.error());
}

} // namespace

TEST_CASE("upcasters: broken chains are refused when the set is made") {
  auto keep = [](const event& e) {
    return std::vector<event>{e};
  };
  CHECK(refused({{"deposited", 2, keep}}).find("no step from version 1")
        != std::string::npos);
  CHECK(refused({{"deposited", 1, keep}, {"deposited", 3, keep}})
          .find("\"deposited\": no step from version 2 (the next step is "
                "from version 3)")
        != std::string::npos);
  CHECK(refused({{"deposited", 1, keep}, {"deposited", 1, keep}})
          .find("two steps from version 1")
        != std::string::npos);
  CHECK(refused({{"deposited", 1, nullptr}}).find("no function")
        != std::string::npos);
  CHECK(refused({{"deposited", 0, keep}}).find("at least 1")
        != std::string::npos);
  CHECK(refused({{"", 1, keep}}).find("no event type") != std::string::npos);
  auto u = made(deposited_chain());
  CHECK(u->current_version("deposited") == 3);
  CHECK(u->current_version("withdrawn") == 1);
}

TEST_CASE("upcasters: an old event reaches the current shape step by step") {
  auto u = made(deposited_chain());
  SECTION("from version 1 (no schemaVersion)") {
    auto out = u->upcast(old_event("deposited", {{"amt", 5}}));
    REQUIRE(out);
    REQUIRE(out->size() == 1);
    CHECK(out->at(0).data == boost::json::value{{"amount", 500}});
    CHECK(out->at(0).get_metadata("schemaVersion") == "3");
    CHECK(out->at(0).version == 7);
  }
  SECTION("from version 2") {
    auto out = u->upcast(old_event("deposited", {{"amount", 5}}, "2"));
    REQUIRE(out);
    CHECK(out->at(0).data == boost::json::value{{"amount", 500}});
  }
  SECTION("a current event is left as it is") {
    auto e = old_event("deposited", {{"amount", 5}}, "3");
    auto out = u->upcast(e);
    REQUIRE(out);
    CHECK(*out == std::vector<event>{e});
    auto other = old_event("withdrawn", {{"amount", 1}});
    CHECK(*u->upcast(other) == std::vector<event>{other});
  }
  SECTION("persisting stamps the current version (none at version 1)") {
    auto e = old_event("deposited", {{"amount", 5}});
    u->stamp(e);
    CHECK(e.get_metadata("schemaVersion") == "3");
    auto w = old_event("withdrawn", {{"amount", 5}}, "9");
    u->stamp(w);
    CHECK(w.get_metadata("schemaVersion").empty());
  }
}

TEST_CASE("upcasters: split, drop and rename") {
  auto u = made({
    // `transfer` (retired) becomes two deposits in the current shape.
    {"transfer", 1,
     [](const event& e) {
       auto a = e;
       a.type = "deposited";
       a.data = {{"amount", e.data.at("a")}};
       auto b = a;
       b.data = {{"amount", e.data.at("b")}};
       return std::vector<event>{a, b};
     }},
    // `bonus` (retired) is dropped.
    {"bonus", 1,
     [](const event&) {
       return std::vector<event>{};
     }},
  });
  auto split = u->upcast(old_event("transfer", {{"a", 1}, {"b", 2}}));
  REQUIRE(split);
  REQUIRE(split->size() == 2);
  CHECK(split->at(0).type == "deposited");
  CHECK(split->at(1).data == boost::json::value{{"amount", 2}});
  CHECK(split->at(1).get_metadata("schemaVersion").empty());
  auto dropped = u->upcast(old_event("bonus", {}));
  REQUIRE(dropped);
  CHECK(dropped->empty());
}

TEST_CASE("upcasters: what they cannot do fails clearly, naming the event") {
  auto u = made({
    {"throws", 1,
     [](const event&) -> std::vector<event> {
       throw std::runtime_error("no amt");
     }},
    {"moves", 1,
     [](const event& e) {
       auto out = e;
       out.version += 1;
       return std::vector<event>{out};
     }},
  });
  auto thrown = u->upcast(old_event("throws", {}));
  REQUIRE_FALSE(thrown);
  CHECK(is(thrown.error(), persistence_error::corrupt_data));
  CHECK(describe(thrown.error()).find("threw: no amt") != std::string::npos);
  auto moved = u->upcast(old_event("moves", {}));
  REQUIRE_FALSE(moved);
  CHECK(describe(moved.error()).find("another actor id or version")
        != std::string::npos);
  auto newer = made(deposited_chain())
                 ->upcast(old_event("deposited", {{"amount", 1}}, "4"));
  REQUIRE_FALSE(newer);
  CHECK(describe(newer.error()).find("schema version 4 is newer")
        != std::string::npos);
  auto garbage = u->upcast(old_event("throws", {}, "two"));
  REQUIRE_FALSE(garbage);
  CHECK(describe(garbage.error()).find("schemaVersion \"two\"")
        != std::string::npos);
}
