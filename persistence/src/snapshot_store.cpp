#include "aether/persistence/snapshot_store.hpp"

#include "aether/core/error.hpp"

#include <caf/message.hpp>

namespace aether {

snapshot_store::~snapshot_store() = default;

event_store_with_snapshots::~event_store_with_snapshots() = default;

caf::expected<size_t>
snapshot_store::delete_snapshot(const std::string& actor_id, int64_t version) {
  snapshot_criteria c;
  c.min_version = version;
  c.max_version = version;
  return delete_snapshots(actor_id, c);
}

caf::error make_corrupt_snapshot(const std::string& actor_id, int64_t version,
                                 const std::string& reason) {
  return caf::make_error(persistence_error::corrupt_data,
                         "snapshot of actor \"" + actor_id + "\" at version "
                           + std::to_string(version)
                           + " does not decode: " + reason,
                         actor_id, version);
}

std::optional<int64_t> get_corrupt_snapshot_version(const caf::error& err) {
  if (!is(err, persistence_error::corrupt_data))
    return std::nullopt;
  auto& ctx = err.context();
  if (!ctx.match_elements<std::string, std::string, int64_t>())
    return std::nullopt;
  return ctx.get_as<int64_t>(2);
}

} // namespace aether
