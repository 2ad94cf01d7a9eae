#include "aether/persistence/event_store.hpp"

#include "aether/core/error.hpp"

#include <future>

namespace aether {

event_store::~event_store() = default;

caf::expected<append_result>
event_store::save_events(std::vector<event> batch) {
  std::promise<caf::expected<append_result>> result;
  auto future = result.get_future();
  append(std::move(batch), [&result](caf::expected<append_result> res) {
    result.set_value(std::move(res));
  });
  return future.get();
}

caf::expected<append_result> event_store::save_event(event ev) {
  std::vector<event> batch;
  batch.push_back(std::move(ev));
  return save_events(std::move(batch));
}

caf::expected<std::vector<event>>
event_store::get_events(const std::string& actor_id, event_range range) {
  auto res = get_events_with_errors(actor_id, range);
  if (!res)
    return res.error();
  if (!res->errors.empty()) {
    auto& e = res->errors.front();
    return make_persistence_error(
      persistence_error::corrupt_data,
      "event of actor \"" + actor_id + "\" at position "
        + std::to_string(e.position) + " does not decode: " + e.reason);
  }
  return std::move(res->events);
}

caf::expected<std::vector<event>>
event_store::get_events(const std::string& actor_id, int64_t from_version,
                        int64_t to_version, size_t max_count) {
  event_range range;
  range.from_version = from_version;
  range.to_version = to_version;
  range.max_count = max_count;
  return get_events(actor_id, range);
}

void event_store::update_version_cache(const std::string&, int64_t) {
  // nop: stores without a version cache read the latest version on append
}

namespace {

caf::error no_global_order() {
  return make_persistence_error(persistence_error::store_failure,
                                "this store keeps no global order of events");
}

} // namespace

caf::expected<query_page> event_store::events_by_namespace(int64_t, size_t) {
  return no_global_order();
}

caf::expected<query_page> event_store::events_by_tag(const std::string&,
                                                     int64_t, size_t) {
  return no_global_order();
}

caf::expected<int64_t> event_store::highest_position() {
  return no_global_order();
}

int64_t event_store::events_between(int64_t after, int64_t upto) const {
  return upto > after ? upto - after : 0;
}

} // namespace aether
