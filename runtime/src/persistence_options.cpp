#include "aether/runtime/persistence_options.hpp"

#include "aether/runtime/runtime_error.hpp"

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

caf::expected<persistence_options>
persistence_options::from_config(const caf::actor_system_config& cfg) {
  persistence_options o;
  o.snapshots = snapshot_policy::from_config(cfg);
  o.recovery_batch_size = caf::get_or(cfg, "aether.recovery.batch-size",
                                      o.recovery_batch_size);
  o.recovery_timeout = ms(caf::get_or(cfg, "aether.recovery.timeout",
                                      caf::timespan{o.recovery_timeout}));
  o.persist_timeout = ms(caf::get_or(cfg, "aether.persist.timeout",
                                     caf::timespan{o.persist_timeout}));
  std::string mode = caf::get_or(cfg, "aether.persist.on-unknown-outcome",
                                 "stop");
  if (mode == "restart")
    o.on_unknown_outcome = failure_mode::restart;
  else if (mode == "stop")
    o.on_unknown_outcome = failure_mode::stop;
  else
    return make_runtime_error(runtime_error::invalid_option,
                              "aether.persist.on-unknown-outcome: must be "
                              "\"stop\" or \"restart\" (is \""
                                + mode + "\")");
  std::string persist = caf::get_or(cfg, "aether.persist.mode", "sequential");
  if (persist == "pipelined")
    o.mode = persist_mode::pipelined;
  else if (persist != "sequential")
    return make_runtime_error(runtime_error::invalid_option,
                              "aether.persist.mode: must be \"sequential\" "
                              "or \"pipelined\" (is \""
                                + persist + "\")");
  o.pipeline_window = caf::get_or(cfg, "aether.persist.window",
                                  o.pipeline_window);
  if (auto err = o.validate())
    return err;
  return o;
}

caf::error persistence_options::validate() const {
  auto bad = [](const char* option, const std::string& rule) {
    return make_runtime_error(runtime_error::invalid_option,
                              std::string{option} + ": " + rule);
  };
  if (recovery_batch_size == 0)
    return bad("aether.recovery.batch-size (recovery_batch_size)",
               "must be at least 1 (is 0)");
  if (pipeline_window == 0)
    return bad("aether.persist.window (pipeline_window)",
               "must be at least 1 (is 0)");
  auto positive = [&](const char* option, std::chrono::milliseconds x) {
    return x.count() > 0 ? caf::error{}
                         : bad(option, "must be positive (is "
                                         + std::to_string(x.count()) + " ms)");
  };
  if (auto err = positive("aether.recovery.timeout (recovery_timeout)",
                          recovery_timeout))
    return err;
  if (auto err = positive("aether.persist.timeout (persist_timeout)",
                          persist_timeout))
    return err;
  if (auto err = positive("exit_timeout", exit_timeout))
    return err;
  if (auto err = positive("restart_backoff", restart_backoff))
    return err;
  if (restart_max_backoff < restart_backoff)
    return bad("restart_max_backoff", "must be at least restart_backoff");
  if (state_schema_version < 1)
    return bad("state_schema_version", "must be at least 1 (is "
                                         + std::to_string(state_schema_version)
                                         + ")");
  return caf::none;
}

void add_persistence_options(caf::config_option_set& options) {
  add_snapshot_options(options);
  caf::config_option_adder{options, "aether.recovery"}
    .add<size_t>("batch-size", "events read per store call during recovery")
    .add<caf::timespan>("timeout", "max time of one recovery step")
    .add<size_t>("max-concurrent",
                 "recoveries at once per store context (0: no limit)");
  caf::config_option_adder{options, "aether.persist"}
    .add<caf::timespan>("timeout", "max time of one persist")
    .add<std::string>("on-unknown-outcome", "stop or restart")
    .add<std::string>("mode", "sequential or pipelined")
    .add<size_t>("window", "pipelined persists in flight per actor");
}

} // namespace aether
