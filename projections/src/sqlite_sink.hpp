#pragma once

#include "aether/projections/projection.hpp"
#include "handler_calls.hpp"
#include "projection_sink.hpp"

#include <atomic>
#include <string>

namespace aether::detail {

/// Exactly-once: the handler and the offset in one transaction of the read
/// model's SQLite database; after a failure, the events before the failing
/// one are committed again without it (a batch handler's failing batch is
/// first rolled back and handed over again one stored event per call).
class sqlite_sink : public projection_sink {
public:
  /// Opens its own connection to `path`.
  static caf::expected<std::unique_ptr<sqlite_sink>>
  open(std::string name, const std::string& path, handler_calls f);

  ~sqlite_sink() override;

  caf::expected<std::vector<stored_offset>> load() override;
  outcome handle(const stored_offset& from, const read& r,
                 int64_t end) override;
  caf::error save(const stored_offset& offset) override;
  caf::error flush() override;
  int64_t stored() const override;

private:
  sqlite_sink(std::string name, sqlite3* db, handler_calls f);

  /// Handles the groups group by group (a batch handler: one call per
  /// group); after a failure at group i, commits groups 0 .. i-1 again.
  outcome handle_each(const stored_offset& from, const read& r, int64_t end);
  /// Runs the first `count` groups in one transaction (a batch handler: in
  /// one call when `whole`) and commits them with offset `end`; on a
  /// failure rolls everything back (`failed_at` says where it failed).
  outcome run(const stored_offset& from, const read& r, size_t count,
              int64_t end, bool whole);

  std::string name_;
  sqlite3* db_;
  handler_calls f_;
  std::atomic<int64_t> stored_{-1};
};

} // namespace aether::detail
