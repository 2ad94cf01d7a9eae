#pragma once

#include "aether/persistence/snapshot_store.hpp"

#include <memory>

namespace aether {

/// A store that forwards every call to another store. Derive from it to
/// change a few calls (a decorator: fault injection in tests, a view that
/// hides snapshots in benchmarks, instrumentation). Every write of the
/// runtime and of `save_events` goes through `append`, so a decorator that
/// overrides it sees them all.
class forwarding_store : public event_store_with_snapshots {
public:
  explicit forwarding_store(std::shared_ptr<event_store_with_snapshots> inner);
  ~forwarding_store() override;

  void append(std::vector<event> batch, append_callback done) override;
  caf::expected<std::vector<event>> get_events(const std::string& actor_id,
                                               event_range range) override;
  using event_store::get_events;
  caf::expected<replay_result>
  get_events_with_errors(const std::string& actor_id,
                         event_range range) override;
  caf::expected<int64_t>
  get_latest_version(const std::string& actor_id) override;
  caf::expected<std::vector<std::string>> actor_ids() override;
  caf::expected<query_page> events_by_namespace(int64_t after_position,
                                                size_t max_count) override;
  caf::expected<query_page> events_by_tag(const std::string& tag,
                                          int64_t after_position,
                                          size_t max_count) override;
  caf::expected<int64_t> highest_position() override;
  int64_t events_between(int64_t after, int64_t upto) const override;
  caf::error delete_events_to(const std::string& actor_id,
                              int64_t version) override;
  void update_version_cache(const std::string& actor_id,
                            int64_t version) override;
  caf::error save_snapshot(actor_snapshot s) override;
  caf::expected<std::optional<actor_snapshot>>
  get_latest_snapshot(const std::string& actor_id,
                      snapshot_criteria criteria
                      = snapshot_criteria::latest()) override;
  caf::expected<size_t> delete_snapshots(const std::string& actor_id,
                                         snapshot_criteria criteria) override;

  event_store_with_snapshots& inner() {
    return *inner_;
  }

private:
  std::shared_ptr<event_store_with_snapshots> inner_;
};

} // namespace aether
