#pragma once

#include "aether/projections/offset_store.hpp"

#include <chrono>
#include <memory>
#include <mutex>

struct sqlite3;

namespace aether {

/// Offsets in a SQLite file (table `aether_projection_offsets`; WAL,
/// `synchronous=FULL`). It may be the file of an `exactly_once`
/// projection's read model, which keeps its offsets in the same table, or
/// the event store's own file.
class sqlite_offset_store : public offset_store {
public:
  /// Opens (or creates) `path` and the table; fails with `store_failure`
  /// naming the file.
  static caf::expected<std::unique_ptr<sqlite_offset_store>>
  open(const std::string& path,
       std::chrono::milliseconds busy_timeout = std::chrono::seconds{5});

  ~sqlite_offset_store() override;

  caf::expected<std::vector<stored_offset>>
  load(const std::string& projection) override;
  caf::error save(const std::string& projection,
                  const stored_offset& offset) override;
  caf::error drop(const std::string& projection) override;

private:
  explicit sqlite_offset_store(sqlite3* db);

  std::mutex mtx_;
  sqlite3* db_;
};

} // namespace aether
