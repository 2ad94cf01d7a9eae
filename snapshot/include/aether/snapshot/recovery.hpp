#pragma once

#include "aether/persistence/snapshot_store.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace aether {

/// The outcome of `load_snapshot_with_fallback`.
struct snapshot_load_result {
  /// The newest usable snapshot, or none (replay from version 1).
  std::optional<actor_snapshot> snapshot;
  /// How many newer snapshots were skipped because they did not decode.
  size_t fallbacks = 0;
  /// One line per skipped snapshot saying why.
  std::vector<std::string> fallback_reasons;
};

/// Finds the newest snapshot of `actor_id` at or below `max_version` that
/// decodes: first as JSON (the store), then with `decode` (the state's
/// decoder; may be empty). A snapshot that does not decode is skipped for the
/// next older one. When none is usable, a full replay must be possible: if
/// the actor's first events were deleted, this fails with `corrupt_data` and
/// a description of what went wrong.
caf::expected<snapshot_load_result> load_snapshot_with_fallback(
  event_store_with_snapshots& store, const std::string& actor_id,
  int64_t max_version,
  const std::function<caf::error(const actor_snapshot&)>& decode);

/// Reads the events `from..to` of `actor_id` in batches of `batch_size` and
/// calls `f` for each, checking that versions are contiguous. A record that
/// does not decode or a missing version fails with `corrupt_data`. Returns
/// the number of events passed to `f`. `to` is capped at the latest
/// version; a replay that cannot reach it fails with `corrupt_data` (it
/// never returns an older state silently).
caf::expected<int64_t> replay_events(event_store& store,
                                     const std::string& actor_id, int64_t from,
                                     int64_t to, size_t batch_size,
                                     const std::function<void(const event&)>& f,
                                     uint64_t after_position = 0);

/// Checks a batch read during a replay: no undecodable records and the
/// versions continue at `expected_next`. Returns the next expected version.
caf::expected<int64_t> check_replay_batch(const std::string& actor_id,
                                          const replay_result& batch,
                                          int64_t expected_next);

} // namespace aether
