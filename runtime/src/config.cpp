#include "aether/runtime/config.hpp"

#include "aether/persistence/error.hpp"
#include "aether/runtime/persistence_options.hpp"
#include "aether/runtime/runtime_error.hpp"

#include <caf/atom.hpp>
#include <caf/message.hpp>

namespace aether {

config::config() {
  add_persistence_options(custom_options_);
  add_error_categories(*this);
  add_runtime_error_category(*this);
}

void add_runtime_error_category(caf::actor_system_config& cfg) {
  cfg.add_error_category(caf::atom("aether_rt"), [](uint8_t code,
                                                    caf::atom_value,
                                                    const caf::message& ctx) {
    std::string result = to_string(static_cast<runtime_error>(code));
    if (ctx.size() > 0 && ctx.match_element<std::string>(0)) {
      result += ": ";
      result += ctx.get_as<std::string>(0);
    }
    return result;
  });
}

} // namespace aether
