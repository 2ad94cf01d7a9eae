#include "aether/core/error.hpp"
#include "aether/persistence/event.hpp"
#include "catch.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

using namespace aether;

TEST_CASE("errors: version_conflict carries its details") {
  auto err = make_version_conflict("X", 5, 5);
  CHECK(is(err, persistence_error::version_conflict));
  CHECK_FALSE(is(err, persistence_error::not_found));
  CHECK(describe(err)
        == "version conflict: actor \"X\" has version 5, cannot save version "
           "5");
  auto info = get_version_conflict(err);
  REQUIRE(info);
  CHECK(info->actor_id == "X");
  CHECK(info->attempted_version == 5);
  CHECK(info->current_version == 5);
  CHECK_FALSE(get_version_conflict(
    make_persistence_error(persistence_error::invalid_argument, "x")));
}

TEST_CASE("errors: rendered by an actor system") {
  caf::actor_system_config cfg;
  add_error_categories(cfg);
  caf::actor_system sys{cfg};
  auto err = make_persistence_error(persistence_error::unavailable,
                                    "store unreachable");
  CHECK(sys.render(err) == "unavailable: store unreachable");
  CHECK(to_string(persistence_error::unknown_outcome) == "unknown_outcome");
}

TEST_CASE("event metadata helpers") {
  auto cause = make_event("a", "x", 1);
  cause.set_user_id("u1");
  auto effect = make_event("b", "y", 1);
  effect.copy_metadata_from(cause);
  CHECK(effect.user_id() == "u1");
  CHECK(effect.correlation_id() == cause.id);
  CHECK(effect.causation_id() == cause.id);
  effect.set_span_id("s");
  CHECK(effect.span_id() == "s");
  effect.set_span_id("");
  CHECK(effect.metadata.count("spanId") == 0);
}
