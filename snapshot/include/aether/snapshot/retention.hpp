#pragma once

#include "aether/persistence/snapshot_store.hpp"

#include <caf/error.hpp>
#include <cstddef>
#include <cstdint>
#include <string>

namespace aether {

/// Applies a snapshot retention policy after a snapshot at `newest_version`
/// was saved: keeps the newest `keep` snapshots (0: all) and deletes the
/// older ones; with `delete_events`, also deletes the events up to and
/// including the oldest kept snapshot's version.
///
/// An undecodable snapshot still counts as one. A read that fails (the store
/// is unavailable, ...) proves nothing about older snapshots: the function
/// then deletes nothing and returns that error (the next snapshot tries
/// again). Runs blocking store calls: call it on an I/O worker.
caf::error apply_retention(event_store_with_snapshots& store,
                           const std::string& actor_id, int64_t newest_version,
                           size_t keep, bool delete_events);

} // namespace aether
