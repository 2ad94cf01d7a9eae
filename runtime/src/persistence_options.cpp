#include "aether/runtime/persistence_options.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/config_option_adder.hpp>
#include <caf/config_option_set.hpp>
#include <caf/timespan.hpp>

namespace aether {

namespace {

std::chrono::milliseconds ms(caf::timespan x) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(x);
}

} // namespace

persistence_options
persistence_options::from_config(const caf::actor_system_config& cfg) {
  persistence_options o;
  o.snapshots = snapshot_policy::from_config(cfg);
  o.recovery_batch_size = caf::get_or(cfg, "aether.recovery.batch-size",
                                      o.recovery_batch_size);
  o.recovery_timeout = ms(caf::get_or(cfg, "aether.recovery.timeout",
                                      caf::timespan{o.recovery_timeout}));
  o.persist_timeout = ms(caf::get_or(cfg, "aether.persist.timeout",
                                     caf::timespan{o.persist_timeout}));
  auto mode = caf::get_or(cfg, "aether.persist.on-unknown-outcome", "stop");
  o.on_unknown_outcome = mode == "restart" ? failure_mode::restart
                                           : failure_mode::stop;
  return o;
}

void add_persistence_options(caf::config_option_set& options) {
  add_snapshot_options(options);
  caf::config_option_adder{options, "aether.recovery"}
    .add<size_t>("batch-size", "events read per store call during recovery")
    .add<caf::timespan>("timeout", "max time of one recovery step");
  caf::config_option_adder{options, "aether.persist"}
    .add<caf::timespan>("timeout", "max time of one persist")
    .add<std::string>("on-unknown-outcome", "stop or restart");
}

} // namespace aether
