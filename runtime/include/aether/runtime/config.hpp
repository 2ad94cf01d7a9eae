#pragma once

#include <caf/actor_system_config.hpp>

namespace aether {

/// An `actor_system_config` that knows aether: it declares every `aether.*`
/// option (so `caf-application.ini` and command-line options such as
/// `--aether.snapshot.every=100` are accepted) and registers aether's error
/// categories so `actor_system::render` prints their descriptions. Derive
/// your own config from it, or call `add_persistence_options(custom_options_)`
/// `add_error_categories(*this)` and `add_runtime_error_category(*this)` from
/// yours.
class config : public caf::actor_system_config {
public:
  config();
};

/// Registers the runtime's error category (`add_error_categories` from
/// `aether/core/error.hpp` registers the persistence one).
void add_runtime_error_category(caf::actor_system_config& cfg);

} // namespace aether
