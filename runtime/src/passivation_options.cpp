#include "aether/runtime/passivation_options.hpp"

#include "aether/runtime/runtime_error.hpp"

#include <algorithm>
#include <caf/actor_system_config.hpp>
#include <caf/config_option_adder.hpp>
#include <caf/config_option_set.hpp>
#include <caf/timespan.hpp>
#include <string>

namespace aether {

namespace {

std::chrono::milliseconds ms(caf::timespan x) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(x);
}

caf::error bad(const char* option, const std::string& rule) {
  return make_runtime_error(runtime_error::invalid_option,
                            std::string{"aether.passivation."} + option + ": "
                              + rule);
}

caf::error not_negative(const char* option, std::chrono::milliseconds x) {
  if (x.count() >= 0)
    return caf::none;
  return bad(option,
             "must not be negative (is " + std::to_string(x.count()) + " ms)");
}

} // namespace

std::chrono::milliseconds
passivation_options::effective_check_interval() const {
  if (check_interval.count() > 0)
    return check_interval;
  auto quarter = idle_timeout / 4;
  return std::clamp(quarter, std::chrono::milliseconds{1},
                    std::chrono::milliseconds{1000});
}

caf::error passivation_options::validate() const {
  if (auto err = not_negative("idle-timeout (idle_timeout)", idle_timeout))
    return err;
  if (auto err = not_negative("check-interval (check_interval)",
                              check_interval))
    return err;
  if (stop_timeout.count() <= 0)
    return bad("stop-timeout (stop_timeout)",
               "must be positive (is " + std::to_string(stop_timeout.count())
                 + " ms)");
  return caf::none;
}

caf::expected<passivation_options>
passivation_options::from_config(const caf::actor_system_config& cfg) {
  passivation_options o;
  o.idle_timeout = ms(caf::get_or(cfg, "aether.passivation.idle-timeout",
                                  caf::timespan{o.idle_timeout}));
  o.max_active = caf::get_or(cfg, "aether.passivation.max-active",
                             o.max_active);
  o.memory_budget = caf::get_or(cfg, "aether.passivation.memory-budget",
                                o.memory_budget);
  o.snapshot = caf::get_or(cfg, "aether.passivation.snapshot", o.snapshot);
  o.check_interval = ms(caf::get_or(cfg, "aether.passivation.check-interval",
                                    caf::timespan{o.check_interval}));
  o.stop_timeout = ms(caf::get_or(cfg, "aether.passivation.stop-timeout",
                                  caf::timespan{o.stop_timeout}));
  if (auto err = o.validate())
    return err;
  return o;
}

void add_passivation_options(caf::config_option_set& options) {
  caf::config_option_adder{options, "aether.passivation"}
    .add<caf::timespan>("idle-timeout",
                        "passivate actors idle this long (0: never)")
    .add<size_t>("max-active", "active actors at most (0: no limit)")
    .add<uint64_t>("memory-budget",
                   "bytes of state of the active actors at most (0: none)")
    .add<bool>("snapshot", "save a snapshot before passivating")
    .add<caf::timespan>("check-interval",
                        "how often to look for idle actors (0: automatic)")
    .add<caf::timespan>("stop-timeout",
                        "how long a passivating actor may take to stop");
}

} // namespace aether
