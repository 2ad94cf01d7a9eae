#include "aether/persistence/forwarding_store.hpp"

namespace aether {

forwarding_store::forwarding_store(
  std::shared_ptr<event_store_with_snapshots> inner)
  : inner_(std::move(inner)) {
  // nop
}

forwarding_store::~forwarding_store() = default;

void forwarding_store::append(std::vector<event> batch, append_callback done) {
  inner_->append(std::move(batch), std::move(done));
}

caf::expected<std::vector<event>>
forwarding_store::get_events(const std::string& actor_id, event_range range) {
  return inner_->get_events(actor_id, range);
}

caf::expected<replay_result>
forwarding_store::get_events_with_errors(const std::string& actor_id,
                                         event_range range) {
  return inner_->get_events_with_errors(actor_id, range);
}

caf::expected<int64_t>
forwarding_store::get_latest_version(const std::string& actor_id) {
  return inner_->get_latest_version(actor_id);
}

caf::expected<std::vector<std::string>> forwarding_store::actor_ids() {
  return inner_->actor_ids();
}

caf::expected<query_page>
forwarding_store::events_by_namespace(int64_t after_position,
                                      size_t max_count) {
  return inner_->events_by_namespace(after_position, max_count);
}

caf::expected<query_page>
forwarding_store::events_by_tag(const std::string& tag, int64_t after_position,
                                size_t max_count) {
  return inner_->events_by_tag(tag, after_position, max_count);
}

caf::expected<int64_t> forwarding_store::highest_position() {
  return inner_->highest_position();
}

int64_t forwarding_store::events_between(int64_t after, int64_t upto) const {
  return inner_->events_between(after, upto);
}

caf::error forwarding_store::delete_events_to(const std::string& actor_id,
                                              int64_t version) {
  return inner_->delete_events_to(actor_id, version);
}

void forwarding_store::update_version_cache(const std::string& actor_id,
                                            int64_t version) {
  inner_->update_version_cache(actor_id, version);
}

caf::error forwarding_store::save_snapshot(actor_snapshot s) {
  return inner_->save_snapshot(std::move(s));
}

caf::expected<std::optional<actor_snapshot>>
forwarding_store::get_latest_snapshot(const std::string& actor_id,
                                      snapshot_criteria criteria) {
  return inner_->get_latest_snapshot(actor_id, criteria);
}

caf::expected<size_t>
forwarding_store::delete_snapshots(const std::string& actor_id,
                                   snapshot_criteria criteria) {
  return inner_->delete_snapshots(actor_id, criteria);
}

} // namespace aether
