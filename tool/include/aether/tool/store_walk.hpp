#pragma once

#include "aether/persistence/snapshot_store.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <functional>
#include <string>
#include <vector>

namespace aether::tool {

/// Reads the events of `actor` from `from` to `to` page by page (`page`
/// events a read) and hands each page to `f` (which returns false to stop).
/// Records that do not decode go to `bad` once each (by position) and do not
/// stop the walk.
caf::error walk_events(event_store& store, const std::string& actor,
                       int64_t from, int64_t to, size_t page,
                       const std::function<bool(const std::vector<event>&)>& f,
                       const std::function<void(const replay_error&)>& bad);

/// Every snapshot of one actor, oldest first, and those that do not decode.
struct snapshot_listing {
  struct corrupt {
    int64_t version = 0;
    std::string reason;
  };
  std::vector<actor_snapshot> good;
  std::vector<corrupt> bad;
};

/// Lists the snapshots of `actor`, walking down from the newest with
/// `max_version` (the contract's only way to see older ones).
caf::expected<snapshot_listing> list_snapshots(snapshot_store& store,
                                               const std::string& actor);

} // namespace aether::tool
