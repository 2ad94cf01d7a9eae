// live_query: retries, skipping an undecodable record, failing reads,
// wake-ups and stopping (the conformance suite covers the order on every
// store).
#include "aether/core/error.hpp"
#include "aether/persistence/forwarding_store.hpp"
#include "aether/persistence/live_query.hpp"
#include "aether/persistence/memory_store.hpp"
#include "catch.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>

using namespace aether;

namespace {

template <class Pred>
bool eventually(Pred pred) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
  while (!pred() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  return pred();
}

struct seen_versions {
  std::mutex mtx;
  std::vector<int64_t> versions;
  void add(const query_page& page) {
    std::lock_guard<std::mutex> guard{mtx};
    for (auto& x : page.events)
      versions.push_back(x.ev.version);
  }
  std::vector<int64_t> get() {
    std::lock_guard<std::mutex> guard{mtx};
    return versions;
  }
};

live_query::options fast() {
  live_query::options o;
  o.poll_interval = std::chrono::milliseconds{1};
  o.max_backoff = std::chrono::milliseconds{4};
  return o;
}

/// Fails the first `n` query reads with `unavailable`.
class flaky_reads : public forwarding_store {
public:
  flaky_reads(std::shared_ptr<event_store_with_snapshots> inner, int n)
    : forwarding_store(std::move(inner)), failures_left_(n) {}
  caf::expected<query_page> events_by_namespace(int64_t after,
                                                size_t max_count) override {
    if (failures_left_.fetch_sub(1) > 0)
      return make_persistence_error(persistence_error::unavailable, "down");
    return forwarding_store::events_by_namespace(after, max_count);
  }

private:
  std::atomic<int> failures_left_;
};

/// The kernel's id of the calling thread (never reused while the test runs,
/// unlike `std::thread::id`).
long thread_number() {
  return static_cast<long>(syscall(SYS_gettid));
}

/// Records the thread of every query read.
class read_threads : public forwarding_store {
public:
  using forwarding_store::forwarding_store;
  caf::expected<query_page> events_by_namespace(int64_t after,
                                                size_t max_count) override {
    {
      std::lock_guard<std::mutex> guard{mtx};
      threads.push_back(thread_number());
    }
    return forwarding_store::events_by_namespace(after, max_count);
  }
  std::mutex mtx;
  std::vector<long> threads;
};

} // namespace

TEST_CASE("live query: reads ahead on one thread of its own; a page read "
          "ahead for a position the handler did not go on from is dropped") {
  auto inner = std::make_shared<memory_store>();
  for (int64_t v = 1; v <= 100; ++v)
    REQUIRE(inner->save_event(make_event("e", "a", v)));
  auto store = std::make_shared<read_threads>(inner);
  seen_versions seen;
  std::atomic<int> calls{0};
  std::atomic<long> handler_thread{0};
  auto o = fast();
  o.batch_size = 10;
  live_query q{store, event_query::all(), 0, o,
               [&](const query_page& page, int64_t after) {
                 handler_thread = thread_number();
                 // The third page fails twice: its next page, read ahead,
                 // is not used.
                 auto n = ++calls;
                 if (n == 3 || n == 4)
                   return live_query::next_read{after, true};
                 seen.add(page);
                 return live_query::next_read{page.next_after};
               }};
  REQUIRE(eventually([&] {
    return q.caught_up() && seen.get().size() == 100;
  }));
  q.stop();
  std::vector<int64_t> expected;
  for (int64_t v = 1; v <= 100; ++v)
    expected.push_back(v);
  CHECK(seen.get() == expected);
  std::lock_guard<std::mutex> guard{store->mtx};
  std::set<long> readers;
  for (auto t : store->threads)
    if (t != handler_thread.load())
      readers.insert(t);
  // Pages 2 to 10 were read ahead (page 4 again after each failure of page
  // 3), all on one thread.
  CHECK(readers.size() == 1);
  CHECK(
    std::count(store->threads.begin(), store->threads.end(), *readers.begin())
    >= 9);
}

TEST_CASE("live query: a handler that fails gets the same page again, "
          "after a backoff") {
  auto store = std::make_shared<memory_store>();
  for (int64_t v = 1; v <= 3; ++v)
    REQUIRE(store->save_event(make_event("e", "a", v)));
  seen_versions seen;
  std::atomic<int> calls{0};
  live_query q{store, event_query::all(), 0, fast(),
               [&](const query_page& page, int64_t after) {
                 if (++calls <= 2)
                   return live_query::next_read{after, true};
                 seen.add(page);
                 return live_query::next_read{page.next_after};
               }};
  REQUIRE(eventually([&] {
    return seen.get().size() == 3;
  }));
  REQUIRE(eventually([&] {
    return q.caught_up();
  }));
  CHECK(calls == 3);
  CHECK(seen.get() == std::vector<int64_t>{1, 2, 3});
}

TEST_CASE("live query: a record that does not decode is skipped only when "
          "the handler says so") {
  auto store = std::make_shared<memory_store>();
  for (int64_t v = 1; v <= 3; ++v)
    REQUIRE(store->save_event(make_event("e", "a", v)));
  REQUIRE(store->corrupt_event_for_testing("a", 2, "{bad"));
  seen_versions seen;
  std::atomic<int> errors{0};
  live_query q{store, event_query::all(), 0, fast(),
               [&](const query_page& page, int64_t) {
                 seen.add(page);
                 if (page.error) {
                   ++errors;
                   return live_query::next_read{
                     static_cast<int64_t>(page.error->position)};
                 }
                 return live_query::next_read{page.next_after};
               }};
  REQUIRE(eventually([&] {
    return seen.get().size() == 2;
  }));
  REQUIRE(eventually([&] {
    return q.caught_up();
  }));
  CHECK(seen.get() == std::vector<int64_t>{1, 3});
  CHECK(errors == 1);
}

TEST_CASE("live query: failing reads are retried and counted") {
  auto inner = std::make_shared<memory_store>();
  REQUIRE(inner->save_event(make_event("e", "a", 1)));
  auto store = std::make_shared<flaky_reads>(inner, 3);
  seen_versions seen;
  live_query q{store, event_query::all(), 0, fast(),
               [&](const query_page& page, int64_t) {
                 seen.add(page);
                 return live_query::next_read{page.next_after};
               }};
  REQUIRE(eventually([&] {
    return seen.get().size() == 1;
  }));
  CHECK(q.read_failures() == 3);
}

TEST_CASE("live query: wake reads at once; stop ends a long wait") {
  auto store = std::make_shared<memory_store>();
  seen_versions seen;
  live_query::options o;
  o.poll_interval = std::chrono::hours{1};
  live_query q{store, event_query::by_tag("t"), 0, o,
               [&](const query_page& page, int64_t) {
                 seen.add(page);
                 return live_query::next_read{page.next_after};
               }};
  REQUIRE(eventually([&] {
    return q.caught_up();
  }));
  auto e = make_event("e", "a", 1);
  e.set_tags({"t"});
  REQUIRE(store->save_event(e));
  q.wake();
  REQUIRE(eventually([&] {
    return seen.get().size() == 1;
  }));
  auto start = std::chrono::steady_clock::now();
  q.stop();
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds{5});
}

TEST_CASE("live query: wake does not cut a backoff short") {
  auto store = std::make_shared<memory_store>();
  REQUIRE(store->save_event(make_event("e", "a", 1)));
  std::atomic<int> calls{0};
  live_query::options o;
  o.poll_interval = std::chrono::milliseconds{100};
  o.max_backoff = std::chrono::milliseconds{100};
  live_query q{store, event_query::all(), 0, o,
               [&](const query_page&, int64_t after) {
                 ++calls; // always fails
                 return live_query::next_read{after, true};
               }};
  // A writer waking it all the time (as after every persist).
  auto until = std::chrono::steady_clock::now()
               + std::chrono::milliseconds{450};
  while (std::chrono::steady_clock::now() < until) {
    q.wake();
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  }
  q.stop();
  // One attempt per backoff of 100 ms (and the first), not one per wake.
  CHECK(calls >= 1);
  CHECK(calls <= 6);
}
