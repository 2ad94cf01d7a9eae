#pragma once

#include "aether/projections/projection.hpp"
#include "projection_sink.hpp"

#include <caf/error.hpp>
#include <cstddef>
#include <vector>

namespace aether::detail {

/// The user's handler as a sink calls it: once per event, or once per
/// batch. An at-least-once handler gets a null database.
class handler_calls {
public:
  using read = projection_sink::read;

  /// Where a call failed: the handler's error (an exception contained) and
  /// the group it failed at (0 for a batch of several groups).
  struct failure {
    caf::error err;
    size_t at = 0;
  };

  explicit handler_calls(projection::sqlite_handler each);

  explicit handler_calls(projection::sqlite_batch_handler batch);

  /// True for a batch handler.
  bool batched() const {
    return static_cast<bool>(batch_);
  }

  /// Hands groups [0, count) over in order: a handler per event gets them
  /// one by one; a batch handler gets them in one call when `whole`, else
  /// one call per group (to find the group that fails).
  failure run(sqlite3* db, const read& r, size_t count, bool whole) const;

private:
  projection::sqlite_handler each_;
  projection::sqlite_batch_handler batch_;
};

} // namespace aether::detail
