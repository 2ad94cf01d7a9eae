#pragma once

#include "aether/persistence/event.hpp"
#include "aether/runtime/store_context.hpp"
#include "aether/testkit/failing_store.hpp"
#include "aether/testkit/testkit_options.hpp"

#include <caf/actor_system.hpp>
#include <caf/error.hpp>
#include <caf/fwd.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace aether::testkit {

/// The part of `behavior_testkit` that does not depend on the actor's type:
/// a deterministic actor system (CAF's test coordinator: nothing runs until
/// the kit runs it, all on the calling thread), the store behind a
/// `failing_store`, and the stop watch of the actor.
class behavior_testkit_base {
public:
  behavior_testkit_base(const behavior_testkit_base&) = delete;
  behavior_testkit_base& operator=(const behavior_testkit_base&) = delete;

  /// The store the actor uses: set failure policies on it.
  failing_store& store();

  /// The store under the failing one (reads and writes of the test that
  /// no policy should touch).
  event_store_with_snapshots& inner_store();

  caf::actor_system& system();

  const store_context& context() const;

  const std::string& persistence_id() const {
    return id_;
  }

  /// Runs every runnable job until nothing is left (a delayed store call
  /// sleeps on this thread). Returns the jobs run.
  size_t run();

  /// Advances the test clock by `t` (timeouts, backoffs, passivation) and
  /// runs what became runnable.
  void advance(caf::timespan t);

  /// The reason the actor stopped, if it did (nothing while it runs).
  std::optional<caf::error> stopped() const;

  /// The events of the actor the store holds from version `from` on, in
  /// version order (every event by default).
  std::vector<event> stored_events(int64_t from = 1);

  /// The actor's latest stored version (0 before its first event).
  int64_t latest_version();

protected:
  behavior_testkit_base(std::string persistence_id, testkit_options opts);
  ~behavior_testkit_base();

  const testkit_options& options() const {
    return opts_;
  }

  /// Watches `a` for its stop (see `stopped`).
  void watch(const caf::actor& a);

  /// Appends `evs` (typed by the caller) at the next versions.
  void seed(std::vector<event> evs);

  /// Saves a snapshot at the latest stored version.
  void seed_snapshot(boost::json::value state);

  /// Checks that each event survives encode/decode through the wire JSON.
  static void check_wire_round_trip(const std::vector<event>& evs);

private:
  struct impl;
  std::string id_;
  testkit_options opts_;
  std::unique_ptr<impl> impl_;
};

} // namespace aether::testkit
