// The smallest persistent actor: a counter with snapshots and typed events,
// no JSON. docs/persistent-actors.md sets it beside its Akka typed twin.
//
//   counter <database file>
//
// Adds 1..10 and prints the value; a second run on the same file recovers
// (from the snapshot taken every 4 events) and goes on from there.
#include "aether/runtime/config.hpp"
#include "aether/runtime/spawn_persistent.hpp"
#include "aether/sqlite/sqlite_store.hpp"

#include <caf/all.hpp>
#include <iostream>

using add_atom = caf::atom_constant<caf::atom("add")>;

AETHER_DEFINE_EVENT(added, "added", (int64_t, n))

struct counter {
  int64_t value = 0;
  void apply(const added& e) {
    value += e.n;
  }
};
BOOST_DESCRIBE_STRUCT(counter, (), (value))

caf::behavior counter_actor(aether::event_sourced_ptr<counter, added> self) {
  self->snapshots().every_events(4);
  return {[self](add_atom, int64_t n) {
    return self->persist(added{n}).then_reply(&counter::value);
  }};
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: counter <database file>\n";
    return 2;
  }
  aether::config cfg;
  caf::actor_system sys{cfg};
  auto store = aether::sqlite_store::open(argv[1]);
  if (!store) {
    std::cerr << "error: " << aether::describe(store.error()) << "\n";
    return 1;
  }
  auto ctx = aether::store_context::make(sys, std::move(*store));
  auto c = aether::spawn_persistent(sys, counter_actor, "counter-1", ctx);
  caf::scoped_actor self{sys};
  int64_t value = 0;
  bool ok = true;
  for (int64_t n = 1; n <= 10 && ok; ++n)
    self->request(c, caf::infinite, add_atom::value, n)
      .receive(
        [&](int64_t v) {
          value = v;
        },
        [&](caf::error& err) {
          std::cerr << sys.render(err) << "\n";
          ok = false;
        });
  std::cout << "counter-1: " << value << "\n";
  self->send_exit(c, caf::exit_reason::user_shutdown);
  self->wait_for(c);
  // Each run adds 55: the value is a multiple of it.
  return ok && value > 0 && value % 55 == 0 ? 0 : 1;
}
