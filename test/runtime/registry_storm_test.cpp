// A storm of activations in real time: 100,000 actors with history on
// SQLite, each sent a command at once through the registry, under a limit
// of 10,000 active actors. Every command is answered, no recovery times
// out, and no more than 10,000 actors are ever active.

#include "aether/runtime/actor_registry.hpp"
#include "aether/runtime/config.hpp"
#include "aether/runtime/store_context.hpp"
#include "aether/sqlite/sqlite_store.hpp"
#include "catch.hpp"
#include "eventually.hpp"
#include "tally.hpp"
#include "temp_dir.hpp"

#include <atomic>
#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <cstdlib>
#include <string>
#include <vector>

using namespace aether;
using namespace aether::test;
using namespace std::chrono_literals;

namespace {

/// The number of actors: 100,000, or `AETHER_STORM_ACTORS` (the sanitizer
/// builds set it lower: they run 5-20 times slower).
int storm_actors() {
  if (auto* s = std::getenv("AETHER_STORM_ACTORS"))
    return std::atoi(s);
  return 100000;
}

} // namespace

TEST_CASE("registry: a storm of 100,000 activations on SQLite under a limit "
          "of 10,000 active") {
  const int actors = storm_actors();
  const size_t limit = static_cast<size_t>(actors / 10);
  INFO(actors << " actors, limit " << limit);
  temp_dir dir;
  auto opened = sqlite_store::open((dir.path() / "storm.db").string());
  REQUIRE(opened);
  std::shared_ptr<sqlite_store> store = std::move(*opened);
  // Two events per actor, through the store's group commit.
  std::atomic<int> written{0};
  std::atomic<int> write_failures{0};
  for (int i = 0; i < actors; ++i) {
    std::vector<event> batch;
    for (int64_t v = 1; v <= 2; ++v) {
      event e;
      e.type = "added";
      e.actor_id = "s" + std::to_string(i);
      e.version = v;
      e.data = boost::json::object{{"n", 1}};
      batch.push_back(std::move(e));
    }
    store->append(std::move(batch), [&](caf::expected<append_result> r) {
      if (!r)
        write_failures += 1;
      written += 1;
    });
  }
  REQUIRE(eventually(
    [&] {
      return written.load() == actors;
    },
    120s));
  REQUIRE(write_failures == 0);

  aether::config cfg;
  caf::actor_system sys{cfg};
  {
    auto ctx = store_context::make(sys, store, store_io::options{4, true});
    persistence_options o;
    o.recovery_timeout = 2s;
    passivation_options p;
    p.max_active = limit;
    // The next activation replays the two events (a snapshot per
    // passivation would be 90,000 SQLite transactions of its own).
    p.snapshot = false;
    auto reg = actor_registry::spawn(
      sys,
      [ctx, o](caf::actor_system& s, const std::string& id) {
        return s.spawn<tally_actor>(id, ctx, o);
      },
      p);
    caf::scoped_actor self{sys};
    using handle
      = decltype(self->request(reg->router(), caf::infinite, ask_atom::value,
                               std::string{}, caf::message{}));
    std::vector<handle> asks;
    asks.reserve(static_cast<size_t>(actors));
    for (int i = 0; i < actors; ++i)
      asks.push_back(self->request(reg->router(), caf::infinite,
                                   ask_atom::value, "s" + std::to_string(i),
                                   caf::make_message(get_atom::value)));
    int ok = 0;
    int failed = 0;
    std::string first_error;
    for (auto& hdl : asks)
      hdl.receive(
        [&](int64_t sum) {
          ok += sum == 2 ? 1 : 0;
        },
        [&](caf::error& err) {
          if (failed++ == 0)
            first_error = sys.render(err);
        });
    INFO(first_error);
    CHECK(failed == 0);
    CHECK(ok == actors);
    auto m = reg->metrics().read();
    CHECK(m.activations == static_cast<uint64_t>(actors));
    CHECK(m.active_peak == limit);
    CHECK(m.passivations_count_limit >= static_cast<uint64_t>(actors) - limit);
    CHECK(ctx.metrics->read().recovery_failures == 0);
    // A passivated actor comes back with its history.
    int64_t sum = 0;
    self
      ->request(reg->router(), caf::infinite, ask_atom::value,
                std::string{"s0"},
                caf::make_message(add_atom::value, int64_t{5}))
      .receive(
        [&](int64_t x) {
          sum = x;
        },
        [&](caf::error& err) {
          FAIL(sys.render(err));
        });
    CHECK(sum == 7);
  }
}
