#pragma once

// The state the benchmarks fold: a running sum and count.

#include "aether/core/error.hpp"
#include "aether/runtime/persistent_actor.hpp"

#include <boost/json.hpp>
#include <caf/all.hpp>
#include <cstdint>

namespace aether::bench {

using add_atom = caf::atom_constant<caf::atom("add")>;
using info_atom = caf::atom_constant<caf::atom("info")>;

struct counter {
  int64_t sum = 0;
  int64_t count = 0;

  void apply(const event& e) {
    sum += e.data.at("n").as_int64();
    ++count;
  }

  boost::json::value to_snapshot() const {
    return boost::json::object{{"sum", sum}, {"count", count}};
  }

  caf::error from_snapshot(const boost::json::value& v) {
    auto* o = v.if_object();
    if (!o || !o->contains("sum") || !o->contains("count"))
      return make_persistence_error(persistence_error::corrupt_data,
                                    "counter: missing field");
    sum = o->at("sum").as_int64();
    count = o->at("count").as_int64();
    return caf::none;
  }
};

class counter_actor : public persistent_actor<counter> {
public:
  using persistent_actor::persistent_actor;

  caf::behavior make_commands() override {
    return {
      [this](add_atom, int64_t n) -> caf::result<int64_t> {
        return persist("added", boost::json::object{{"n", n}}, [this] {
          return state().sum;
        });
      },
      [this](info_atom) {
        return std::vector<int64_t>{version(), recovered_from_snapshot(),
                                    events_replayed(), state().sum};
      },
    };
  }
};

} // namespace aether::bench
