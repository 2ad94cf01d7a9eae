// A read model: balances per customer, fed by the bank demo's events.
//
//   balances_read_model <bank database> <read model database>
//
// An exactly-once projection reads every event of the bank's SQLite store
// in its global order and keeps two tables in the read model's own SQLite
// file: each account's balance and each customer's total. Events and the
// projection's offset commit in one transaction, so a crash or a restart
// neither loses nor doubles an event; a second run only reads what is new.
// The example then checks the read model against a fold of every event.
#include "aether/core/error.hpp"
#include "aether/projections/projection.hpp"
#include "aether/sqlite/sqlite_store.hpp"
#include "bank_account.hpp"

#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <sqlite3.h>
#include <string>
#include <thread>

namespace {

// Which customer holds which account (a real model would read it from
// events of its own).
std::string customer_of(const std::string& account) {
  if (account == "account-1" || account == "account-2")
    return "alice";
  if (account == "account-3")
    return "bob";
  return "carol";
}

using bank_events = aether::events<deposited, withdrawn>;

// The change an event makes to a balance (0 for events of other types).
caf::expected<int64_t> change_of(const aether::event& e) {
  auto decoded = bank_events::decode(e);
  if (!decoded)
    return decoded.error();
  if (!*decoded)
    return int64_t{0};
  return std::visit(
    [](const auto& x) -> int64_t {
      using T = std::decay_t<decltype(x)>;
      return std::is_same_v<T, deposited> ? x.amount : -x.amount;
    },
    **decoded);
}

caf::error exec(sqlite3* db, const char* sql, const std::string& account,
                const std::string& customer, int64_t change) {
  sqlite3_stmt* q = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &q, nullptr) != SQLITE_OK)
    return aether::make_persistence_error(
      aether::persistence_error::store_failure, sqlite3_errmsg(db));
  sqlite3_bind_text(q, 1, account.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(q, 2, customer.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(q, 3, change);
  auto rc = sqlite3_step(q);
  sqlite3_finalize(q);
  if (rc != SQLITE_DONE)
    return aether::make_persistence_error(
      aether::persistence_error::store_failure, sqlite3_errmsg(db));
  return caf::none;
}

// The handler: runs inside the read model's transaction.
caf::error apply_to_balances(sqlite3* db, const aether::positioned_event& x) {
  auto change = change_of(x.ev);
  if (!change)
    return change.error();
  auto customer = customer_of(x.ev.actor_id);
  if (auto err = exec(db,
                      "INSERT INTO account_balances VALUES (?1, ?2, ?3) "
                      "ON CONFLICT (account) DO UPDATE SET "
                      "balance = balance + excluded.balance",
                      x.ev.actor_id, customer, *change))
    return err;
  return exec(db,
              "INSERT INTO customer_balances VALUES (?2, ?3) "
              "ON CONFLICT (customer) DO UPDATE SET "
              "balance = balance + excluded.balance",
              x.ev.actor_id, customer, *change);
}

bool create_tables(const std::string& path) {
  sqlite3* db = nullptr;
  auto ok = sqlite3_open(path.c_str(), &db) == SQLITE_OK
            && sqlite3_exec(db,
                            "CREATE TABLE IF NOT EXISTS account_balances ("
                            "account TEXT PRIMARY KEY, customer TEXT NOT NULL,"
                            " balance INTEGER NOT NULL);"
                            "CREATE TABLE IF NOT EXISTS customer_balances ("
                            "customer TEXT PRIMARY KEY,"
                            " balance INTEGER NOT NULL);",
                            nullptr, nullptr, nullptr)
                 == SQLITE_OK;
  if (!ok)
    std::cerr << "error: " << sqlite3_errmsg(db) << "\n";
  sqlite3_close(db);
  return ok;
}

std::map<std::string, int64_t> read_customers(const std::string& path) {
  std::map<std::string, int64_t> out;
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_stmt* q = nullptr;
  sqlite3_prepare_v2(db, "SELECT customer, balance FROM customer_balances",
                     -1, &q, nullptr);
  while (q && sqlite3_step(q) == SQLITE_ROW)
    out[reinterpret_cast<const char*>(sqlite3_column_text(q, 0))]
      = sqlite3_column_int64(q, 1);
  sqlite3_finalize(q);
  sqlite3_close(db);
  return out;
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: balances_read_model <bank database> <read model "
                 "database>\n";
    return 2;
  }
  std::string model = argv[2];
  aether::sqlite_store::options so;
  so.path = argv[1];
  so.create = false;
  auto opened = aether::sqlite_store::open(so);
  if (!opened) {
    std::cerr << "error: " << aether::describe(opened.error()) << "\n";
    return 1;
  }
  std::shared_ptr<aether::event_store> store = std::move(*opened);
  if (!create_tables(model))
    return 1;
  aether::projection_options opts;
  opts.name = "customer-balances";
  opts.batch_size = 1000;
  auto p = aether::projection::exactly_once(store, opts, model,
                                            apply_to_balances);
  if (!p) {
    std::cerr << "error: " << aether::describe(p.error()) << "\n";
    return 1;
  }
  auto from = (*p)->stats()[0].offset;
  // Wait until it has caught up with the store.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes{2};
  for (;;) {
    auto behind = (*p)->events_behind();
    if (behind && *behind == 0 && (*p)->stats()[0].caught_up)
      break;
    if (std::chrono::steady_clock::now() > deadline) {
      std::cerr << "error: the projection did not catch up\n";
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
  (*p)->stop();
  auto s = (*p)->stats()[0];
  std::printf("projection %s: offset %lld (was %lld), %llu events handled "
              "now, %llu failures\n",
              opts.name.c_str(), (long long)s.offset, (long long)from,
              (unsigned long long)s.handled, (unsigned long long)s.failures);
  // The read model against the fold of every event.
  std::map<std::string, int64_t> fold;
  for (int64_t after = 0;;) {
    auto page = store->events_by_namespace(after, 1000);
    if (!page || page->error) {
      std::cerr << "error: cannot read the events\n";
      return 1;
    }
    for (auto& x : page->events)
      if (auto change = change_of(x.ev))
        fold[customer_of(x.ev.actor_id)] += *change;
    after = page->next_after;
    if (page->at_end)
      break;
  }
  auto got = read_customers(model);
  std::cout << "customer   balance\n";
  for (auto& [customer, balance] : got)
    std::printf("%-8s %9lld\n", customer.c_str(), (long long)balance);
  if (got != fold) {
    std::cerr << "error: the read model differs from the fold of the events\n";
    return 1;
  }
  std::cout << "the read model equals the fold of every event\n";
  return 0;
}
