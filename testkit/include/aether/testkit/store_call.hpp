#pragma once

#include "aether/persistence/event.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace aether::testkit {

/// The operations of a store a `failing_store` can make fail.
enum class store_operation {
  /// `append` (every write of events, also `save_events`).
  append,
  /// `get_events`, `get_events_with_errors` and `get_latest_version`.
  read,
  /// `save_snapshot`.
  save_snapshot,
  /// `get_latest_snapshot`.
  load_snapshot,
  /// `delete_events_to`.
  delete_events,
  /// `delete_snapshots`.
  delete_snapshots,
};

/// The operation's name, e.g. "save_snapshot".
std::string to_string(store_operation op);

/// One call of a store, as a failure policy's predicate sees it.
struct store_call {
  store_operation op = store_operation::append;
  /// The actor the call is about.
  std::string actor_id;
  /// The batch of an append (empty for other operations).
  const std::vector<event>* batch = nullptr;
  /// The version a call names: an append's first version, a saved snapshot's
  /// version, the bound of a delete; 0 otherwise.
  int64_t version = 0;
  /// 1 for the store's first call of this operation, 2 for its second, ...
  uint64_t number = 0;
};

} // namespace aether::testkit
