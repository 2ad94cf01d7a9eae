#pragma once

#include "aether/nats/kv_bucket.hpp"
#include "aether/nats/nats_connection.hpp"
#include "aether/projections/offset_store.hpp"

#include <memory>
#include <string>

namespace aether {

/// Offsets in a NATS JetStream key-value bucket, shared by every node: a
/// projection that moves to another node resumes from the offset its last
/// node stored. Key `<projection>.<worker>`, value `<workers> <position>`.
/// Offsets only move forward: `save` keeps the stored offset when it is
/// higher (for the same number of workers), so a late save of a node that
/// no longer runs the projection cannot move it back; `drop` starts over.
/// Use one bucket per cluster (`options::bucket`): projections of the same
/// name share their offsets within a bucket. Every call blocks for round
/// trips to the server (projections call it from their workers' threads).
/// Thread-safe.
class kv_offset_store : public offset_store {
public:
  struct options {
    /// The bucket (letters, digits, `-` and `_`).
    std::string bucket = "aether_offsets";
    /// Copies of the bucket on a JetStream cluster: as many as the events'.
    int replicas = 1;
  };

  /// Binds to the bucket, creating it when missing; an existing bucket with
  /// another replica count or a TTL is refused (`invalid_argument`).
  static caf::expected<std::unique_ptr<kv_offset_store>>
  open(std::shared_ptr<nats_connection> conn, options opts);

  static caf::expected<std::unique_ptr<kv_offset_store>>
  open(std::shared_ptr<nats_connection> conn) {
    return open(std::move(conn), options{});
  }

  caf::expected<std::vector<stored_offset>>
  load(const std::string& projection) override;
  caf::error save(const std::string& projection,
                  const stored_offset& offset) override;
  caf::error drop(const std::string& projection) override;

private:
  explicit kv_offset_store(std::unique_ptr<kv_bucket> bucket);

  /// The keys of `projection`'s workers now in the bucket.
  caf::expected<std::vector<std::string>> keys_of(const std::string& name);

  std::unique_ptr<kv_bucket> bucket_;
};

} // namespace aether
