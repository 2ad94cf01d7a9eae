#include "shared_setup.hpp"

namespace aether::detail {

#ifdef __GLIBCXX__
// A field added to either struct must be compared below (and then the size
// here updated).
static_assert(sizeof(void*) != 8 || sizeof(store_context) == 112,
              "store_context changed: update same_context");
static_assert(sizeof(void*) != 8 || sizeof(persistence_options) == 368,
              "persistence_options changed: update same_options");
#endif

bool same_context(const store_context& a, const store_context& b) {
  return a.store == b.store && a.io == b.io && a.metrics == b.metrics
         && a.recoveries == b.recoveries && a.bus == b.bus
         && a.bus_namespace == b.bus_namespace;
}

namespace {

bool has_function(const persistence_options& x) {
  return x.log || x.tagger || x.snapshot_upcaster;
}

} // namespace

bool same_options(const persistence_options& a, const persistence_options& b) {
  return !has_function(a) && !has_function(b)
         && a.snapshots.same_rules(b.snapshots)
         && a.recovery_batch_size == b.recovery_batch_size
         && a.recovery_timeout == b.recovery_timeout
         && a.persist_timeout == b.persist_timeout && a.mode == b.mode
         && a.pipeline_window == b.pipeline_window
         && a.exit_timeout == b.exit_timeout
         && a.publish_events == b.publish_events
         && a.publish_event_stored == b.publish_event_stored
         && a.on_unknown_outcome == b.on_unknown_outcome
         && a.restart_backoff == b.restart_backoff
         && a.restart_max_backoff == b.restart_max_backoff
         && a.max_restarts == b.max_restarts && a.upcasters == b.upcasters
         && a.state_schema_version == b.state_schema_version;
}

namespace {

/// One entry per thread: the last copy made, while some actor holds it.
template <class T, class Same>
std::shared_ptr<const T> share(T x, std::weak_ptr<const T>& last, Same same) {
  if (auto cached = last.lock(); cached && same(*cached, x))
    return cached;
  auto fresh = std::make_shared<const T>(std::move(x));
  last = fresh;
  return fresh;
}

} // namespace

std::shared_ptr<const store_context> share_context(store_context ctx) {
  thread_local std::weak_ptr<const store_context> last;
  return share(std::move(ctx), last, same_context);
}

std::shared_ptr<const persistence_options>
share_options(persistence_options opts) {
  // Never equal to anything: not worth the cache entry.
  if (has_function(opts))
    return std::make_shared<const persistence_options>(std::move(opts));
  thread_local std::weak_ptr<const persistence_options> last;
  return share(std::move(opts), last, same_options);
}

} // namespace aether::detail
