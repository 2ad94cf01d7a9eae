#pragma once

#include "aether/core/time.hpp"

#include <boost/json/value.hpp>
#include <cstdint>
#include <limits>
#include <string>

namespace aether {

/// An actor's state at one version.
struct actor_snapshot {
  /// The actor the snapshot belongs to.
  std::string actor_id;
  /// The version of the last event folded into `state` (positive).
  int64_t version = 0;
  /// The state, encoded by the actor's snapshot encoder.
  boost::json::value state;
  /// When the snapshot was taken (UTC).
  timestamp time;
  /// Store-private position of the event at `version` (e.g. a JetStream
  /// stream sequence), 0 if unknown. Stores fill it in; users never need to.
  uint64_t store_position = 0;
  /// The version of the state's schema when the snapshot was taken
  /// (`persistence_options::state_schema_version`); 1 when absent. Encoded
  /// as `schemaVersion` only when it is not 1.
  int64_t schema_version = 1;
};

bool operator==(const actor_snapshot& x, const actor_snapshot& y);
bool operator!=(const actor_snapshot& x, const actor_snapshot& y);

/// Which snapshots a query or a deletion selects (bounds are inclusive), as
/// Akka Persistence's `SnapshotSelectionCriteria`.
struct snapshot_criteria {
  int64_t max_version = std::numeric_limits<int64_t>::max();
  timestamp max_time = timestamp::max();
  int64_t min_version = 0;
  timestamp min_time = timestamp::min();

  /// Selects every snapshot.
  static snapshot_criteria latest() {
    return {};
  }

  /// Selects nothing.
  static snapshot_criteria none() {
    snapshot_criteria c;
    c.max_version = 0;
    c.max_time = timestamp::min();
    return c;
  }

  /// Returns true if `s` is selected.
  bool matches(const actor_snapshot& s) const {
    return s.version <= max_version && s.version >= min_version
           && s.time <= max_time && s.time >= min_time;
  }
};

} // namespace aether
