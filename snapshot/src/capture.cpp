#include "aether/snapshot/capture.hpp"

namespace aether {

caf::expected<loaded_events>
load(event_store_with_snapshots& store, const std::string& actor_id,
     size_t batch_size,
     const std::shared_ptr<const event_upcasters>& upcasters) {
  loaded_events result;
  auto loaded = load_snapshot_with_fallback(
    store, actor_id, std::numeric_limits<int64_t>::max(), {});
  if (!loaded)
    return loaded.error();
  int64_t from = 1;
  uint64_t position = 0;
  if (loaded->snapshot) {
    from = loaded->snapshot->version + 1;
    position = loaded->snapshot->store_position;
    result.snapshot = std::move(loaded->snapshot);
  }
  caf::error failed;
  auto n = replay_events(
    store, actor_id, from, std::numeric_limits<int64_t>::max(), batch_size,
    [&](const event& e) {
      if (!failed)
        failed = event_upcasters::each_current(upcasters, e,
                                               [&](const event& c) {
                                                 result.events.push_back(c);
                                               });
    },
    position);
  if (!n)
    return n.error();
  if (failed)
    return failed;
  return result;
}

} // namespace aether
