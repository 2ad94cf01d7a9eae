#pragma once
// The persistent actor of the fault tests: each command stores one event
// with a unique tag and replies with the stored version, so the driver can
// log exactly what was acknowledged.
#include "aether/runtime/persistent_actor.hpp"
#include "tally.hpp"

#include <string>

namespace aether::test {

class fault_actor : public persistent_actor<tally> {
public:
  using persistent_actor::persistent_actor;

  caf::behavior make_commands() override {
    return {
      [this](add_atom, const std::string& tag) -> caf::result<int64_t> {
        return persist("added", boost::json::object{{"n", 1}, {"tag", tag}},
                       [this] {
                         return version();
                       });
      },
      [this](get_atom) {
        return std::vector<int64_t>{version(), state().sum};
      },
    };
  }
};

} // namespace aether::test
