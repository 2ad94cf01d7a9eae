// A separate project built against the installed aether package: a
// persistent actor on the SQLite store.
#include "counter.hpp"

#include <aether/core/error.hpp>
#include <aether/runtime/config.hpp>
#include <aether/sqlite/sqlite_store.hpp>
#include <caf/all.hpp>
#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 2)
    return 2;
  aether::config cfg;
  caf::actor_system sys{cfg};
  auto store = aether::sqlite_store::open(argv[1]);
  if (!store) {
    std::fprintf(stderr, "%s\n", aether::describe(store.error()).c_str());
    return 1;
  }
  auto ctx = aether::store_context::make(sys, std::move(*store));
  aether::persistence_options opts;
  opts.snapshots.every_events(1);
  auto actor = sys.spawn<counter_actor>("consumer-1", ctx, opts);
  caf::scoped_actor self{sys};
  int rc = 1;
  self->request(actor, caf::infinite, add_atom::value, int64_t{42})
    .receive(
      [&](int64_t value) {
        std::printf("consumer: persisted, value %lld\n",
                    static_cast<long long>(value));
        rc = value == 42 ? 0 : 1;
      },
      [&](caf::error& err) {
        std::fprintf(stderr, "%s\n", sys.render(err).c_str());
      });
  self->send_exit(actor, caf::exit_reason::user_shutdown);
  self->wait_for(actor);
  return rc;
}
