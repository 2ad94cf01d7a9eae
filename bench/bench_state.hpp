#pragma once

// The state the benchmarks fold: a running sum and count.

#include "aether/core/error.hpp"
#include "aether/runtime/event_sourced.hpp"

#include <boost/json.hpp>
#include <caf/all.hpp>
#include <cstdint>

namespace aether::bench {

using add_atom = caf::atom_constant<caf::atom("add")>;
using info_atom = caf::atom_constant<caf::atom("info")>;

struct added {
  int64_t n = 0;
};
AETHER_EVENT(added, "added", (n))

struct counter {
  int64_t sum = 0;
  int64_t count = 0;

  void apply(const added& e) {
    sum += e.n;
    ++count;
  }
};
BOOST_DESCRIBE_STRUCT(counter, (), (sum, count))

class counter_actor : public event_sourced<counter, events<added>> {
public:
  using event_sourced::event_sourced;

  caf::behavior commands() override {
    return {
      [this](add_atom, int64_t n) {
        return persist(added{n}).then_reply(&counter::sum);
      },
      [this](info_atom) {
        return std::vector<int64_t>{version(), recovered_from_snapshot(),
                                    events_replayed(), state().sum};
      },
    };
  }
};

} // namespace aether::bench
