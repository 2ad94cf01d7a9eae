#include "aether/runtime/config.hpp"

#include "aether/core/error.hpp"
#include "aether/runtime/passivation_options.hpp"
#include "aether/runtime/persistence_options.hpp"
#include "aether/runtime/runtime_error.hpp"

#include <caf/atom.hpp>
#include <caf/config_option_adder.hpp>
#include <caf/message.hpp>

namespace aether {

config::config() {
  // Scheduler: an idle worker polls its queue 1,000 times (tens of
  // microseconds; CAF's default is 100), then sleeps on a condition variable
  // that an enqueue signals, skipping CAF's middle phase of 500 polls 50 us
  // apart. A worker that idles while a request is on the network (a routed
  // cluster request, a NATS store call) otherwise wakes up to ~100 us late on
  // each hop. Measured with aether-bench (docs/benchmarks-notes.md): routed
  // remote p50 0.47 -> 0.23 ms, local 0.08 -> 0.015 ms, memory-store persist
  // +15%. The ini file or `--work-stealing.*` still override both.
  set("work-stealing.aggressive-poll-attempts", size_t{1000});
  set("work-stealing.moderate-poll-attempts", size_t{0});
  add_persistence_options(custom_options_);
  add_passivation_options(custom_options_);
  // Read by aether::http (a component above this one).
  caf::config_option_adder{custom_options_, "aether.http"}
    .add<int64_t>("port", "serve /metrics, /healthz, /readyz on this port")
    .add<std::string>("bind", "the address to bind (default 127.0.0.1)");
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
