#pragma once

#include "aether/persistence/actor_snapshot.hpp"
#include "aether/persistence/event_store.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <optional>
#include <string>

namespace aether {

/// The contract of every snapshot store. Thread safety, errors and blocking
/// as for `event_store`.
class snapshot_store {
public:
  virtual ~snapshot_store();

  /// Stores `s`, replacing a snapshot of the same actor at the same version
  /// (an upsert). A zero timestamp is set to now.
  virtual caf::error save_snapshot(actor_snapshot s) = 0;

  /// Returns the newest snapshot (highest version) of `actor_id` that
  /// `criteria` selects, or an empty optional (not an error) when none does.
  /// If that snapshot does not decode, fails with `corrupt_data` whose
  /// context names its version (see `get_corrupt_snapshot_version`), so a
  /// caller can fall back to an older one by lowering `max_version`.
  virtual caf::expected<std::optional<actor_snapshot>>
  get_latest_snapshot(const std::string& actor_id,
                      snapshot_criteria criteria = snapshot_criteria::latest())
    = 0;

  /// Deletes the snapshots of `actor_id` that `criteria` selects and returns
  /// how many were deleted.
  virtual caf::expected<size_t>
  delete_snapshots(const std::string& actor_id, snapshot_criteria criteria) = 0;

  /// Deletes the snapshot of `actor_id` at `version`, if any.
  caf::expected<size_t> delete_snapshot(const std::string& actor_id,
                                        int64_t version);
};

/// An event store that also stores snapshots (the interface the Go aether's
/// snapshot proposal names `EventStoreWithSnapshots`).
class event_store_with_snapshots : public event_store, public snapshot_store {
public:
  ~event_store_with_snapshots() override;
};

/// Builds the `corrupt_data` error a snapshot store returns for a snapshot
/// that does not decode. Context: (description, actor_id, version).
caf::error make_corrupt_snapshot(const std::string& actor_id, int64_t version,
                                 const std::string& reason);

/// Returns the version named by a `make_corrupt_snapshot` error.
std::optional<int64_t> get_corrupt_snapshot_version(const caf::error& err);

} // namespace aether
