#pragma once

#include "aether/projections/projection.hpp"
#include "projection_sink.hpp"

#include <atomic>
#include <string>

namespace aether::detail {

/// Exactly-once: the handler and the offset in one transaction of the read
/// model's SQLite database; after a failure, the events before the failing
/// one are committed again without it.
class sqlite_sink : public projection_sink {
public:
  /// Opens its own connection to `path`.
  static caf::expected<std::unique_ptr<sqlite_sink>>
  open(std::string name, const std::string& path, projection::sqlite_handler f);

  ~sqlite_sink() override;

  caf::expected<std::vector<stored_offset>> load() override;
  outcome handle(const stored_offset& from, const std::vector<group>& groups,
                 int64_t end) override;
  caf::error save(const stored_offset& offset) override;
  caf::error flush() override;
  int64_t stored() const override;

private:
  sqlite_sink(std::string name, sqlite3* db, projection::sqlite_handler f);

  /// Runs the first `count` groups in one transaction and commits them with
  /// offset `end`; on a failure rolls everything back (`handled` says
  /// where it failed).
  outcome run(const stored_offset& from, const std::vector<group>& groups,
              size_t count, int64_t end);

  std::string name_;
  sqlite3* db_;
  projection::sqlite_handler f_;
  std::atomic<int64_t> stored_{-1};
};

} // namespace aether::detail
