// Stores and reads events and a snapshot with the embedded SQLite store.
//
//   store_basics [path-to-db]
#include "aether/core/error.hpp"
#include "aether/persistence/event.hpp"
#include "aether/sqlite/sqlite_store.hpp"

#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  std::string path = argc > 1 ? argv[1] : "store_basics.db";
  auto store = aether::sqlite_store::open(path);
  if (!store) {
    std::fprintf(stderr, "error: %s\n",
                 aether::describe(store.error()).c_str());
    return 1;
  }
  auto& s = **store;
  auto latest = s.get_latest_version("account-1");
  if (!latest)
    return 1;
  std::printf("account-1 is at version %lld\n",
              static_cast<long long>(*latest));
  auto next = *latest + 1;
  auto res
    = s.save_events({aether::make_event("deposited", "account-1", next,
                                        boost::json::object{{"amount", 100}}),
                     aether::make_event("withdrawn", "account-1", next + 1,
                                        boost::json::object{{"amount", 30}})});
  if (!res) {
    std::fprintf(stderr, "error: %s\n", aether::describe(res.error()).c_str());
    return 1;
  }
  // A stale writer is refused with a clear conflict.
  auto stale = s.save_event(
    aether::make_event("deposited", "account-1", next, boost::json::object{}));
  std::printf("stale write: %s\n", aether::describe(stale.error()).c_str());
  int64_t balance = 0;
  auto events = s.get_events("account-1", 1);
  if (!events)
    return 1;
  for (auto& e : *events) {
    auto amount = e.data.at("amount").as_int64();
    balance += e.type == "deposited" ? amount : -amount;
  }
  std::printf("replayed %zu events, balance %lld\n", events->size(),
              static_cast<long long>(balance));
  return 0;
}
