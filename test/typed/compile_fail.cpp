// Code the compiler must refuse. Built once as it is (it must compile), and
// once per AETHER_FAIL_* case (each must fail with the expected message):
// see test/CMakeLists.txt.
#include "aether/runtime/event_sourced.hpp"

#include <boost/describe.hpp>
#include <caf/all.hpp>
#include <string>

namespace {

using add_atom = caf::atom_constant<caf::atom("add")>;

struct added {
  static constexpr const char* event_type = "added";
  int64_t n = 0;
};
BOOST_DESCRIBE_STRUCT(added, (), (n))

struct reset {
  static constexpr const char* event_type = "reset";
};
BOOST_DESCRIBE_STRUCT(reset, (), ())

struct counter {
  int64_t value = 0;
  void apply(const added& e) {
    value += e.n;
  }
#ifndef AETHER_FAIL_MISSING_APPLY
  void apply(const reset&) {
    value = 0;
  }
#endif
};
BOOST_DESCRIBE_STRUCT(counter, (), (value))

struct other_state {
  int64_t x = 0;
};

#ifdef AETHER_FAIL_WRONG_REPLY
using declared_reply = std::string;
#else
using declared_reply = int64_t;
#endif

class counter_actor
  : public aether::event_sourced<counter, aether::events<added, reset>> {
public:
  using event_sourced::event_sourced;

  caf::behavior commands() override {
    return {
      [this](add_atom, int64_t n) -> caf::result<declared_reply> {
        return persist(added{n}).then_reply([](const counter& c) {
          return c.value;
        });
      },
    };
  }
};

using counter_iface
  = caf::typed_actor<caf::replies_to<add_atom, int64_t>::with<int64_t>>;

class typed_counter
  : public aether::event_sourced<counter, aether::events<added, reset>,
                                 counter_iface> {
public:
  using event_sourced::event_sourced;

  commands_type commands() override {
    return {
      [this](add_atom, int64_t n) {
#ifdef AETHER_FAIL_WRONG_TYPED_REPLY
        return persist(added{n}).then_reply([](const counter& c) {
          return std::to_string(c.value);
        });
#else
        return persist(added{n}).then_reply([](const counter& c) {
          return c.value;
        });
#endif
      },
    };
  }
};

#ifdef AETHER_FAIL_POLICY_STATE
auto policy = counter_actor::snapshot_when(
  [](const other_state& s, const added&, int64_t) {
    return s.x > 0;
  });
#else
auto policy
  = counter_actor::snapshot_when([](const counter& c, const added&, int64_t) {
      return c.value > 0;
    });
#endif

} // namespace

int main() {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  (void)policy;
  auto ctx = aether::store_context{};
  // Instantiates both actors (spawned only in a real test).
  if (sys.scheduler().num_workers() == 0) {
    sys.spawn<counter_actor>("a", ctx);
    sys.spawn<typed_counter>("b", ctx);
  }
  return 0;
}
