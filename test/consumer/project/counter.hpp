#pragma once
// The consumer's persistent actor: a counter with typed events, built
// against the installed package (main.cpp runs it, kit_main.cpp tests it).
#include <aether/runtime/event_sourced.hpp>
#include <caf/all.hpp>

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
