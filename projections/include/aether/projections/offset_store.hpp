#pragma once

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace aether {

/// Where one worker of a projection is: the position in the store's global
/// order up to which it handled every event of its share.
struct stored_offset {
  /// The worker (0 to `workers` - 1).
  size_t worker = 0;
  /// How many workers the projection was split over when it was stored.
  size_t workers = 1;
  /// Every event of the worker's share at or below it was handled.
  int64_t position = 0;
};

/// Keeps projections' offsets (for at-least-once projections; an
/// exactly-once projection keeps them in its read model's database).
/// Thread-safe: a projection's workers save from their own threads.
class offset_store {
public:
  virtual ~offset_store();

  /// Every stored offset of `projection` (none for a new one), by worker.
  virtual caf::expected<std::vector<stored_offset>>
  load(const std::string& projection) = 0;

  /// Stores one worker's offset, durably before it returns.
  virtual caf::error
  save(const std::string& projection, const stored_offset& offset)
    = 0;

  /// Forgets every offset of `projection` (it starts from the first event
  /// next time: a rebuild).
  virtual caf::error drop(const std::string& projection) = 0;
};

} // namespace aether
