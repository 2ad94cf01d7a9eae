// Projections: at-least-once and exactly-once, restarts without a gap or a
// duplicate, retries, dead letters, workers, tags, upcasters, metrics.
#include "aether/core/error.hpp"
#include "aether/persistence/memory_store.hpp"
#include "aether/projections/memory_offset_store.hpp"
#include "aether/projections/projection.hpp"
#include "aether/projections/sqlite_offset_store.hpp"
#include "aether/sqlite/sqlite_store.hpp"
#include "catch.hpp"
#include "offset_store_conformance.hpp"
#include "shell.hpp"
#include "temp_dir.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sqlite3.h>
#include <thread>

using namespace aether;

namespace {

template <class Pred>
bool eventually(Pred pred,
                std::chrono::milliseconds limit = std::chrono::seconds{20}) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  return pred();
}

event deposit(const std::string& account, int64_t version, int64_t amount) {
  return make_event("deposited", account, version,
                    boost::json::object{{"amount", amount}});
}

/// What a handler saw, in order.
struct journal {
  std::mutex mtx;
  std::vector<positioned_event> events;
  void add(const positioned_event& x) {
    std::lock_guard<std::mutex> guard{mtx};
    events.push_back(x);
  }
  size_t size() {
    std::lock_guard<std::mutex> guard{mtx};
    return events.size();
  }
  std::vector<positioned_event> get() {
    std::lock_guard<std::mutex> guard{mtx};
    return events;
  }
};

projection_options fast(std::string name) {
  projection_options o;
  o.name = std::move(name);
  o.batch_size = 16;
  o.poll_interval = std::chrono::milliseconds{1};
  o.max_backoff = std::chrono::milliseconds{8};
  return o;
}

/// Balances per account in the read model database.
std::map<std::string, int64_t> balances(const std::string& path) {
  std::map<std::string, int64_t> out;
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* q = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT account, balance FROM balances", -1, &q,
                         nullptr)
      == SQLITE_OK) {
    while (sqlite3_step(q) == SQLITE_ROW)
      out[reinterpret_cast<const char*>(sqlite3_column_text(q, 0))]
        = sqlite3_column_int64(q, 1);
  }
  sqlite3_finalize(q);
  sqlite3_close(db);
  return out;
}

/// The exactly-once handler of the balances read model.
caf::error add_to_balance(sqlite3* db, const positioned_event& x) {
  if (sqlite3_exec(db,
                   "CREATE TABLE IF NOT EXISTS balances (account TEXT "
                   "PRIMARY KEY, balance INTEGER NOT NULL)",
                   nullptr, nullptr, nullptr)
      != SQLITE_OK)
    return make_persistence_error(persistence_error::store_failure,
                                  sqlite3_errmsg(db));
  sqlite3_stmt* q = nullptr;
  sqlite3_prepare_v2(db,
                     "INSERT INTO balances (account, balance) VALUES (?1, ?2) "
                     "ON CONFLICT (account) DO UPDATE SET balance = balance + "
                     "excluded.balance",
                     -1, &q, nullptr);
  sqlite3_bind_text(q, 1, x.ev.actor_id.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(q, 2, x.ev.data.at("amount").as_int64());
  auto rc = sqlite3_step(q);
  sqlite3_finalize(q);
  if (rc != SQLITE_DONE)
    return make_persistence_error(persistence_error::store_failure,
                                  sqlite3_errmsg(db));
  return caf::none;
}

/// An offset store whose saves wait while held and fail while failing.
class gated_offsets : public offset_store {
public:
  caf::expected<std::vector<stored_offset>>
  load(const std::string& projection) override {
    return inner_.load(projection);
  }

  caf::error save(const std::string& projection,
                  const stored_offset& offset) override {
    {
      std::unique_lock<std::mutex> lock{mtx_};
      cv_.wait(lock, [this] {
        return !held_;
      });
      if (failing_) {
        ++failed;
        return make_persistence_error(persistence_error::unavailable,
                                      "offsets down");
      }
    }
    return inner_.save(projection, offset);
  }

  caf::error drop(const std::string& projection) override {
    return inner_.drop(projection);
  }

  void hold(bool on) {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      held_ = on;
    }
    cv_.notify_all();
  }

  void fail(bool on) {
    std::lock_guard<std::mutex> guard{mtx_};
    failing_ = on;
  }

  std::atomic<int> failed{0};

private:
  memory_offset_store inner_;
  std::mutex mtx_;
  std::condition_variable cv_;
  bool held_ = false;
  bool failing_ = false;
};

/// Every position 1 .. n exactly once, in order.
void check_once_in_order(const std::vector<positioned_event>& all, size_t n) {
  REQUIRE(all.size() == n);
  for (size_t i = 0; i < all.size(); ++i)
    CHECK(all[i].position == static_cast<int64_t>(i + 1));
}

/// 12 events of one actor, an at-least-once projection over them in reads
/// of 4 with its offsets in a `gated_offsets`, and what its handler saw.
struct gated_run {
  std::shared_ptr<memory_store> store = std::make_shared<memory_store>();
  std::shared_ptr<gated_offsets> offsets = std::make_shared<gated_offsets>();
  journal seen;
  std::unique_ptr<projection> p;

  explicit gated_run(const std::string& name, bool held, bool failing) {
    for (int64_t v = 1; v <= 12; ++v)
      REQUIRE(store->save_event(deposit("a", v, 1)));
    offsets->hold(held);
    offsets->fail(failing);
    auto o = fast(name);
    o.batch_size = 4;
    auto started = projection::at_least_once(store, o, offsets,
                                             [this](const positioned_event& x) {
                                               seen.add(x);
                                               return caf::error{};
                                             });
    REQUIRE(started);
    p = std::move(*started);
  }

  /// Released before the projection stops, even when a check fails.
  ~gated_run() {
    offsets->hold(false);
    if (p)
      p->stop();
  }
};

} // namespace

TEST_CASE("projection: at-least-once handles the next read while the offset "
          "of the one before is stored, never further ahead") {
  gated_run run{"gated", true, false};
  // The save of the first read's offset hangs; the second read is handled
  // meanwhile, the third waits for that save.
  REQUIRE(eventually([&] {
    return run.seen.size() == 8;
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds{50});
  CHECK(run.seen.size() == 8);
  CHECK(run.p->stats()[0].offset == 0);
  run.offsets->hold(false);
  REQUIRE(eventually([&] {
    return run.p->stats()[0].offset == 12;
  }));
  run.p->stop();
  check_once_in_order(run.seen.get(), 12);
  auto stored = run.offsets->load("gated");
  REQUIRE(stored);
  REQUIRE(stored->size() == 1);
  CHECK(stored->front().position == 12);
}

TEST_CASE("projection: a failing offset store holds at-least-once back, "
          "counted, without handling an event twice") {
  gated_run run{"failing", false, true};
  REQUIRE(eventually([&] {
    return run.p->stats()[0].failures >= 3 && run.offsets->failed >= 3;
  }));
  // The first read was handled, and perhaps the second while the first
  // one's offset was being stored (when that save had not failed yet).
  // Nothing more is handled, and nothing again.
  auto ahead = run.seen.size();
  CHECK((ahead == 4 || ahead == 8));
  CHECK(run.p->stats()[0].offset == 0);
  CHECK(run.p->stats()[0].handled == ahead);
  run.offsets->fail(false);
  REQUIRE(eventually([&] {
    return run.p->stats()[0].offset == 12;
  }));
  run.p->stop();
  check_once_in_order(run.seen.get(), 12);
  CHECK(run.p->stats()[0].handled == 12);
  CHECK(run.p->stats()[0].dead_letters == 0);
}

TEST_CASE("projection: at-least-once hands over every event in order and "
          "resumes after a restart without a gap or a duplicate") {
  auto store = std::make_shared<memory_store>();
  auto offsets = std::make_shared<memory_offset_store>();
  for (int64_t v = 1; v <= 20; ++v)
    REQUIRE(store->save_event(deposit(v % 2 ? "a" : "b", (v + 1) / 2, v)));
  journal seen;
  auto handler = [&](const positioned_event& x) {
    seen.add(x);
    return caf::error{};
  };
  {
    auto p = projection::at_least_once(store, fast("all"), offsets, handler);
    REQUIRE(p);
    REQUIRE(eventually([&] {
      return seen.size() == 20;
    }));
    // Live: new events arrive after the catch-up.
    for (int64_t v = 11; v <= 15; ++v)
      REQUIRE(store->save_event(deposit("a", v, 1)));
    REQUIRE(eventually([&] {
      return seen.size() == 25;
    }));
    REQUIRE(eventually([&] {
      return (*p)->stats()[0].caught_up;
    }));
    CHECK((*p)->stats()[0].handled == 25);
    CHECK((*p)->events_behind() == int64_t{0});
  }
  auto stored = offsets->load("all");
  REQUIRE(stored);
  REQUIRE(stored->size() == 1);
  CHECK(stored->front().position == 25);
  // Written while it was stopped.
  for (int64_t v = 16; v <= 18; ++v)
    REQUIRE(store->save_event(deposit("a", v, 1)));
  auto p = projection::at_least_once(store, fast("all"), offsets, handler);
  REQUIRE(p);
  REQUIRE(eventually([&] {
    return seen.size() == 28;
  }));
  REQUIRE(eventually([&] {
    return (*p)->stats()[0].caught_up;
  }));
  auto all = seen.get();
  REQUIRE(all.size() == 28);
  for (size_t i = 0; i < all.size(); ++i)
    CHECK(all[i].position == static_cast<int64_t>(i + 1));
}

TEST_CASE("projection: exactly-once keeps the read model and its offset in "
          "one transaction") {
  test::temp_dir dir;
  auto events = sqlite_store::open(dir.file("events.db"));
  REQUIRE(events);
  std::shared_ptr<event_store> store = std::move(*events);
  std::map<std::string, int64_t> next;
  for (int64_t v = 1; v <= 30; ++v) {
    std::string id = v % 3 ? "a" : "b";
    REQUIRE(store->save_event(deposit(id, ++next[id], 10)));
  }
  auto model = dir.file("model.db");
  std::atomic<int> calls{0};
  auto failing_once = [&](sqlite3* db, const positioned_event& x) {
    // The 12th call fails once: what it wrote is rolled back, the events
    // before it stay, and it is retried.
    if (++calls == 12) {
      add_to_balance(db, x);
      return make_persistence_error(persistence_error::store_failure, "boom");
    }
    return add_to_balance(db, x);
  };
  {
    auto p = projection::exactly_once(store, fast("balances"), model,
                                      failing_once);
    REQUIRE(p);
    REQUIRE(eventually([&] {
      auto s = (*p)->stats()[0];
      return s.caught_up && s.offset == 30;
    }));
    auto s = (*p)->stats()[0];
    CHECK(s.handled == 30);
    CHECK(s.failures == 1);
  }
  CHECK(balances(model)
        == std::map<std::string, int64_t>{{"a", 200}, {"b", 100}});
  auto offsets = sqlite_offset_store::open(model);
  REQUIRE(offsets);
  auto stored = (*offsets)->load("balances");
  REQUIRE(stored);
  REQUIRE(stored->size() == 1);
  CHECK(stored->front().position == 30);
  // Restarted: only what is new.
  REQUIRE(store->save_event(deposit("c", 1, 5)));
  auto p = projection::exactly_once(store, fast("balances"), model,
                                    add_to_balance);
  REQUIRE(p);
  REQUIRE(eventually([&] {
    return (*p)->stats()[0].offset == 31;
  }));
  (*p)->stop();
  CHECK(balances(model)
        == std::map<std::string, int64_t>{{"a", 200}, {"b", 100}, {"c", 5}});
}

TEST_CASE("projection: a failing event is retried, counted, and never "
          "skipped unless a dead-letter function takes it") {
  auto store = std::make_shared<memory_store>();
  for (int64_t v = 1; v <= 5; ++v)
    REQUIRE(store->save_event(deposit("a", v, v)));
  journal seen;
  auto poison = [&](const positioned_event& x) -> caf::error {
    if (x.ev.version == 3)
      throw std::runtime_error("cannot handle 3");
    seen.add(x);
    return caf::none;
  };
  SECTION("without a dead-letter function it retries forever") {
    auto p = projection::at_least_once(
      store, fast("p"), std::make_shared<memory_offset_store>(), poison);
    REQUIRE(p);
    REQUIRE(eventually([&] {
      return (*p)->stats()[0].failures >= 5;
    }));
    CHECK(seen.size() == 2);
    CHECK((*p)->stats()[0].offset == 2);
    CHECK((*p)->stats()[0].dead_letters == 0);
    CHECK_FALSE((*p)->stats()[0].caught_up);
  }
  SECTION("with one, after the attempts allowed, it moves on") {
    std::vector<dead_letter> letters;
    std::mutex mtx;
    auto o = fast("p");
    o.dead_letter_after = 3;
    o.dead_letter = [&](const dead_letter& d) {
      std::lock_guard<std::mutex> guard{mtx};
      letters.push_back(d);
    };
    auto p = projection::at_least_once(
      store, o, std::make_shared<memory_offset_store>(), poison);
    REQUIRE(p);
    REQUIRE(eventually([&] {
      return seen.size() == 4;
    }));
    (*p)->stop();
    std::lock_guard<std::mutex> guard{mtx};
    REQUIRE(letters.size() == 1);
    CHECK(letters[0].position == 3);
    REQUIRE(letters[0].ev);
    CHECK(letters[0].ev->version == 3);
    CHECK(letters[0].attempts == 3);
    CHECK(letters[0].reason.find("cannot handle 3") != std::string::npos);
    auto s = (*p)->stats()[0];
    CHECK(s.dead_letters == 1);
    CHECK(s.failures == 3);
    CHECK(s.offset == 5);
  }
  SECTION("a record that does not decode goes the same way") {
    REQUIRE(store->corrupt_event_for_testing("a", 4, "{bad"));
    std::vector<dead_letter> letters;
    std::mutex mtx;
    auto o = fast("p");
    o.dead_letter_after = 2;
    o.dead_letter = [&](const dead_letter& d) {
      std::lock_guard<std::mutex> guard{mtx};
      letters.push_back(d);
      if (d.ev && d.ev->version == 3)
        throw std::runtime_error("the dead-letter function fails too");
    };
    auto p = projection::at_least_once(
      store, o, std::make_shared<memory_offset_store>(), poison);
    REQUIRE(p);
    REQUIRE(eventually([&] {
      return (*p)->stats()[0].offset == 5;
    }));
    (*p)->stop();
    std::lock_guard<std::mutex> guard{mtx};
    REQUIRE(letters.size() == 2);
    CHECK_FALSE(letters[1].ev);
    CHECK(letters[1].raw == "{bad");
    CHECK(letters[1].position == 4);
    CHECK(seen.size() == 3); // 1, 2, 5
  }
}

namespace {

/// 40 deposits over accounts a, b and c (account of event i: i % 3; amount
/// i); the 10th (of "a", version 4) is the poison event when `poison`.
struct batched_run {
  std::shared_ptr<memory_store> store = std::make_shared<memory_store>();
  std::mutex mtx;
  /// The positions of each call's events, in call order.
  std::vector<std::vector<int64_t>> calls;
  std::vector<dead_letter> letters;
  bool poison = false;

  batched_run() {
    std::map<std::string, int64_t> next;
    for (int64_t i = 1; i <= 40; ++i) {
      std::string id(1, static_cast<char>('a' + i % 3));
      REQUIRE(store->save_event(deposit(id, ++next[id], i)));
    }
  }

  projection_options options() {
    auto o = fast("batched");
    o.dead_letter_after = 2;
    o.dead_letter = [this](const dead_letter& d) {
      std::lock_guard<std::mutex> guard{mtx};
      letters.push_back(d);
    };
    return o;
  }

  /// Records the call; throws when the batch holds the poison event.
  void seen(const event_batch& xs) {
    std::vector<int64_t> positions;
    for (auto& x : xs)
      positions.push_back(x.position);
    std::lock_guard<std::mutex> guard{mtx};
    calls.push_back(positions);
    for (auto& x : xs)
      if (poison && x.position == 10)
        throw std::runtime_error("cannot handle 10");
  }

  /// The expected balances: every deposit but the poison one.
  std::map<std::string, int64_t> expected() const {
    std::map<std::string, int64_t> out;
    for (int64_t i = 1; i <= 40; ++i)
      if (!poison || i != 10)
        out[std::string(1, static_cast<char>('a' + i % 3))] += i;
    return out;
  }
};

/// Adds up a batch's amounts per account and writes each account once.
caf::error add_batch_to_balances(sqlite3* db, const event_batch& xs) {
  std::map<std::string, int64_t> sums;
  for (auto& x : xs)
    sums[x.ev.actor_id] += x.ev.data.at("amount").as_int64();
  for (auto& [account, sum] : sums) {
    positioned_event one;
    one.ev = deposit(account, 1, sum);
    if (auto err = add_to_balance(db, one))
      return err;
  }
  return caf::none;
}

} // namespace

TEST_CASE("projection: exactly-once with a batch handler, one call per read; "
          "a failing batch is rolled back and narrowed to its event") {
  test::temp_dir dir;
  batched_run r;
  auto model = dir.file("model.db");
  SECTION("every read in one call") {
    auto p = projection::exactly_once_batched(
      r.store, r.options(), model, [&](sqlite3* db, const event_batch& xs) {
        r.seen(xs);
        return add_batch_to_balances(db, xs);
      });
    REQUIRE(p);
    REQUIRE(eventually([&] {
      return (*p)->stats()[0].offset == 40;
    }));
    (*p)->stop();
    CHECK(balances(model) == r.expected());
    std::lock_guard<std::mutex> guard{r.mtx};
    REQUIRE(r.calls.size() == 3); // reads of 16, 16 and 8
    CHECK(r.calls[0].size() == 16);
    CHECK(r.calls[1].front() == 17);
    CHECK(r.calls[2].back() == 40);
    CHECK((*p)->stats()[0].handled == 40);
    CHECK((*p)->stats()[0].failures == 0);
  }
  SECTION("a poison event") {
    r.poison = true;
    auto p = projection::exactly_once_batched(
      r.store, r.options(), model, [&](sqlite3* db, const event_batch& xs) {
        // Writes first: what a failing batch wrote must be rolled back.
        if (auto err = add_batch_to_balances(db, xs))
          return err;
        r.seen(xs);
        return caf::error{};
      });
    REQUIRE(p);
    REQUIRE(eventually([&] {
      return (*p)->stats()[0].offset == 40;
    }));
    (*p)->stop();
    // Nothing twice, nothing of the poison event.
    CHECK(balances(model) == r.expected());
    auto s = (*p)->stats()[0];
    CHECK(s.handled == 39);
    CHECK(s.dead_letters == 1);
    // Per attempt: the batch, then the poison event alone; two attempts.
    CHECK(s.failures == 4);
    std::lock_guard<std::mutex> guard{r.mtx};
    REQUIRE(r.letters.size() == 1);
    CHECK(r.letters[0].position == 10);
    CHECK(r.letters[0].attempts == 2);
    CHECK(r.letters[0].reason.find("cannot handle 10") != std::string::npos);
    // The first read failed whole, then went one event per call.
    REQUIRE(r.calls.size() > 10);
    CHECK(r.calls[0].size() == 16);
    CHECK(r.calls[1] == std::vector<int64_t>{1});
  }
}

TEST_CASE("projection: at-least-once with a batch handler; a failing batch "
          "is handed over again event by event") {
  batched_run r;
  r.poison = true;
  auto offsets = std::make_shared<memory_offset_store>();
  auto p = projection::at_least_once_batched(r.store, r.options(), offsets,
                                             [&](const event_batch& xs) {
                                               r.seen(xs);
                                               return caf::error{};
                                             });
  REQUIRE(p);
  REQUIRE(eventually([&] {
    return (*p)->stats()[0].offset == 40;
  }));
  (*p)->stop();
  auto s = (*p)->stats()[0];
  CHECK(s.handled == 39);
  CHECK(s.dead_letters == 1);
  CHECK(s.failures == 4);
  std::lock_guard<std::mutex> guard{r.mtx};
  REQUIRE(r.letters.size() == 1);
  CHECK(r.letters[0].position == 10);
  // Every event but the poison one at least once, in order per call.
  std::set<int64_t> handled;
  for (auto& c : r.calls) {
    CHECK(std::is_sorted(c.begin(), c.end()));
    handled.insert(c.begin(), c.end());
  }
  CHECK(handled.size() == 40); // the poison event was offered, and failed
  CHECK(r.calls[0].size() == 16);
  CHECK(r.calls.back().back() == 40);
}

TEST_CASE("projection: N workers split the actors, each in order, each "
          "with its own offset") {
  auto store = std::make_shared<memory_store>();
  auto offsets = std::make_shared<memory_offset_store>();
  std::map<std::string, int64_t> next;
  for (int i = 0; i < 300; ++i) {
    auto id = "acc-" + std::to_string(i % 17);
    REQUIRE(store->save_event(deposit(id, ++next[id], 1)));
  }
  journal seen;
  auto o = fast("split");
  o.workers = 3;
  auto p = projection::at_least_once(store, o, offsets,
                                     [&](const positioned_event& x) {
                                       seen.add(x);
                                       return caf::error{};
                                     });
  REQUIRE(p);
  REQUIRE(eventually([&] {
    return seen.size() == 300;
  }));
  REQUIRE(eventually([&] {
    for (auto& s : (*p)->stats())
      if (!s.caught_up || s.offset != 300)
        return false;
    return true;
  }));
  (*p)->stop();
  std::map<std::string, int64_t> last;
  std::set<int64_t> positions;
  for (auto& x : seen.get()) {
    CHECK(x.ev.version == last[x.ev.actor_id] + 1);
    last[x.ev.actor_id] = x.ev.version;
    positions.insert(x.position);
  }
  CHECK(positions.size() == 300);
  std::vector<uint64_t> per_worker;
  for (auto& s : (*p)->stats())
    per_worker.push_back(s.handled);
  CHECK(per_worker[0] + per_worker[1] + per_worker[2] == 300);
  CHECK(std::count(per_worker.begin(), per_worker.end(), 0) == 0);
  auto stored = offsets->load("split");
  REQUIRE(stored);
  CHECK(stored->size() == 3);
  // Offsets of 3 workers refuse a start with 2.
  o.workers = 2;
  auto refused = projection::at_least_once(store, o, offsets,
                                           [](const positioned_event&) {
                                             return caf::error{};
                                           });
  REQUIRE_FALSE(refused);
  CHECK(describe(refused.error()).find("3 workers") != std::string::npos);
  REQUIRE_FALSE(offsets->drop("split"));
  CHECK(
    projection::at_least_once(store, o, offsets, [](const positioned_event&) {
      return caf::error{};
    }));
}

TEST_CASE("projection: by tag, with upcasters") {
  auto store = std::make_shared<memory_store>();
  auto old = make_event("paid", "a", 1, boost::json::object{{"amt", 7}});
  old.set_tags({"pay"});
  REQUIRE(store->save_event(old));
  REQUIRE(store->save_event(make_event("other", "a", 2)));
  auto current = make_event("paid", "b", 1, boost::json::object{{"amount", 3}});
  current.set_tags({"pay"});
  current.set_metadata(metadata_keys::schema_version, "2");
  REQUIRE(store->save_event(current));
  auto up = event_upcasters::make({{"paid", 1, [](const event& e) {
                                      auto out = e;
                                      auto& o = out.data.as_object();
                                      o["amount"] = o.at("amt");
                                      o.erase("amt");
                                      return std::vector<event>{out};
                                    }}});
  REQUIRE(up);
  auto o = fast("pay");
  o.query = event_query::by_tag("pay");
  o.upcasters = *up;
  journal seen;
  auto p = projection::at_least_once(store, o,
                                     std::make_shared<memory_offset_store>(),
                                     [&](const positioned_event& x) {
                                       seen.add(x);
                                       return caf::error{};
                                     });
  REQUIRE(p);
  REQUIRE(eventually([&] {
    return seen.size() == 2;
  }));
  auto all = seen.get();
  CHECK(all[0].ev.data.at("amount").as_int64() == 7);
  CHECK(all[1].ev.data.at("amount").as_int64() == 3);
  CHECK(all[0].position == 1);
  CHECK(all[1].position == 3);
}

TEST_CASE("projection: bad options are refused naming the field; metrics "
          "pass promtool") {
  auto store = std::make_shared<memory_store>();
  auto offsets = std::make_shared<memory_offset_store>();
  auto nop = [](const positioned_event&) {
    return caf::error{};
  };
  auto refused = [&](projection_options o) {
    auto p = projection::at_least_once(store, o, offsets, nop);
    REQUIRE_FALSE(p);
    CHECK(is(p.error(), persistence_error::invalid_argument));
    return describe(p.error());
  };
  CHECK(refused(fast("")).find("name") != std::string::npos);
  CHECK(refused(fast("has space")).find("name") != std::string::npos);
  auto o = fast("x");
  o.workers = 0;
  CHECK(refused(o).find("workers") != std::string::npos);
  o = fast("x");
  o.batch_size = 0;
  CHECK(refused(o).find("batch_size") != std::string::npos);
  o = fast("x");
  o.dead_letter_after = 2;
  CHECK(refused(o).find("dead_letter") != std::string::npos);
  o = fast("x");
  o.query = event_query::by_tag("a,b");
  CHECK(refused(o).find("tags") != std::string::npos);

  for (int64_t v = 1; v <= 4; ++v)
    REQUIRE(store->save_event(deposit("a", v, 1)));
  auto two = fast("two");
  two.workers = 2;
  auto p1 = projection::at_least_once(store, fast("one"), offsets, nop);
  auto p2 = projection::at_least_once(store, two, offsets, nop);
  REQUIRE(p1);
  REQUIRE(p2);
  // The offset is stored in the background and may show before the
  // worker has counted the events it handled: wait for both.
  REQUIRE(eventually([&] {
    auto s = (*p1)->stats()[0];
    return s.offset == 4 && s.handled == 4;
  }));
  auto text = projection::prometheus({p1->get(), p2->get()});
  CHECK(text.find("aether_projection_events_handled_total{projection=\"one\","
                  "worker=\"0\"} 4")
        != std::string::npos);
  CHECK(text.find("aether_projection_lag_events{projection=\"one\",worker="
                  "\"0\"} 0")
        != std::string::npos);
  CHECK(text.find("projection=\"two\",worker=\"1\"") != std::string::npos);
  test::temp_dir dir;
  auto file = dir.file("metrics.txt");
  std::ofstream{file} << text;
  auto [rc, out] = test::shell("promtool check metrics < " + file);
  INFO(out);
  CHECK(rc == 0);
}

TEST_CASE("projection: a read model that cannot commit is retried, and its "
          "events never go to the dead letters for it") {
  test::temp_dir dir;
  auto events = sqlite_store::open(dir.file("events.db"));
  REQUIRE(events);
  std::shared_ptr<event_store> store = std::move(*events);
  for (int64_t v = 1; v <= 5; ++v)
    REQUIRE(store->save_event(deposit("a", v, 1)));
  auto model = dir.file("model.db");
  // Offsets cannot be stored while `blocked` has a row: every commit of
  // the projection fails, whatever its handler does.
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(model.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(
              db,
              "CREATE TABLE aether_projection_offsets (projection TEXT NOT "
              "NULL, worker INTEGER NOT NULL, workers INTEGER NOT NULL, "
              "position INTEGER NOT NULL, PRIMARY KEY (projection, worker)) "
              "WITHOUT ROWID; CREATE TABLE blocked (x INTEGER);"
              "INSERT INTO blocked VALUES (1);"
              "CREATE TRIGGER no_insert BEFORE INSERT ON "
              "aether_projection_offsets WHEN (SELECT COUNT(*) FROM blocked) "
              "> 0 BEGIN SELECT RAISE(ABORT, 'blocked'); END;",
              nullptr, nullptr, nullptr)
            == SQLITE_OK);
    sqlite3_close(db);
  }
  std::atomic<int> letters{0};
  auto o = fast("blocked");
  o.dead_letter_after = 2;
  o.dead_letter = [&](const dead_letter&) {
    ++letters;
  };
  auto p = projection::exactly_once(store, o, model, add_to_balance);
  REQUIRE(p);
  REQUIRE(eventually([&] {
    return (*p)->stats()[0].failures >= 5;
  }));
  CHECK(letters == 0);
  CHECK((*p)->stats()[0].offset == 0);
  CHECK((*p)->stats()[0].handled == 0);
  CHECK(balances(model).empty());
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(model.c_str(), &db) == SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    REQUIRE(sqlite3_exec(db, "DELETE FROM blocked", nullptr, nullptr, nullptr)
            == SQLITE_OK);
    sqlite3_close(db);
  }
  REQUIRE(eventually([&] {
    return (*p)->stats()[0].offset == 5;
  }));
  (*p)->stop();
  CHECK(letters == 0);
  CHECK((*p)->stats()[0].dead_letters == 0);
  CHECK((*p)->stats()[0].handled == 5);
  CHECK(balances(model) == std::map<std::string, int64_t>{{"a", 5}});
}

TEST_CASE("offset stores keep the contract: memory and SQLite") {
  memory_offset_store memory;
  aether::test::check_offset_store(memory, "m-");
  aether::test::temp_dir dir;
  auto sqlite = sqlite_offset_store::open((dir.path() / "offsets.db").string());
  REQUIRE(sqlite);
  aether::test::check_offset_store(**sqlite, "s-");
}
