// Every event of the examples round-trips through JSON: through the typed
// codec and the wire codec the stores use; the example state's snapshot too.
#include "aether/persistence/json_codec.hpp"
#include "aether/snapshot/snapshot_codec.hpp"
#include "bank_account.hpp"
#include "catch.hpp"

using namespace aether;

namespace {

using account_events = events<deposited, withdrawn>;

template <class E>
int64_t round_trip_amount(const E& x) {
  auto e = make_event(std::string{event_type_name_v<E>}, "acc-1", 3,
                      account_events::encode(x));
  auto stored = json_codec::decode_event(json_codec::encode(e));
  REQUIRE(stored);
  CHECK(stored->type == event_type_name_v<E>);
  auto back = account_events::decode(*stored);
  REQUIRE(back);
  REQUIRE(back->has_value());
  REQUIRE(std::holds_alternative<E>(**back));
  return std::get<E>(**back).amount;
}

} // namespace

TEST_CASE("example events: the bank account's events round-trip") {
  CHECK(round_trip_amount(deposited{125}) == 125);
  CHECK(round_trip_amount(withdrawn{40}) == 40);
  CHECK(account_events::encode(deposited{7})
        == boost::json::object{{"amount", 7}});
}

TEST_CASE("example events: the account's derived snapshot round-trips") {
  static_assert(snapshot_codec<account>::enabled);
  account a;
  a.apply(deposited{100});
  a.apply(withdrawn{30});
  auto json = snapshot_codec<account>::encode(a);
  CHECK(json == boost::json::object{{"balance", 70}});
  account b;
  REQUIRE_FALSE(snapshot_codec<account>::decode(json, b));
  CHECK(b.balance == 70);
}
