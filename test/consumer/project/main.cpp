// A separate project built against the installed aether package: a
// persistent actor on the SQLite store.
#include <aether/core/error.hpp>
#include <aether/runtime/config.hpp>
#include <aether/runtime/event_sourced.hpp>
#include <aether/sqlite/sqlite_store.hpp>
#include <caf/all.hpp>
#include <cstdio>

using add_atom = caf::atom_constant<caf::atom("add")>;

// One-line event definition (needs Boost.Preprocessor from the package's
// dependencies).
AETHER_DEFINE_EVENT(added, "added", (int64_t, n))

struct counter {
  int64_t value = 0;
  void apply(const added& e) {
    value += e.n;
  }
};
BOOST_DESCRIBE_STRUCT(counter, (), (value))

class counter_actor
  : public aether::event_sourced<counter, aether::events<added>> {
public:
  using event_sourced::event_sourced;
  caf::behavior commands() override {
    return {[this](add_atom, int64_t n) {
      return persist(added{n}).then_reply(&counter::value);
    }};
  }
};

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
