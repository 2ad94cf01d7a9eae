#include "aether/snapshot/snapshot_policy.hpp"

#include <algorithm>
#include <caf/actor_system_config.hpp>
#include <caf/config_option_adder.hpp>
#include <caf/config_option_set.hpp>
#include <caf/timespan.hpp>

namespace aether {

snapshot_policy& snapshot_policy::every_events(int64_t n) {
  every_events_ = std::max<int64_t>(n, 0);
  return *this;
}

snapshot_policy& snapshot_policy::every_versions(int64_t n, int64_t min_events,
                                                 int64_t max_events) {
  every_versions_ = std::max<int64_t>(n, 0);
  min_events_ = std::max<int64_t>(min_events, 0);
  max_events_ = std::max<int64_t>(max_events, 0);
  return *this;
}

snapshot_policy&
snapshot_policy::every_interval(std::chrono::nanoseconds interval) {
  interval_ = interval;
  return *this;
}

snapshot_policy& snapshot_policy::on_event_types(std::set<std::string> types) {
  event_types_ = std::move(types);
  return *this;
}

snapshot_policy& snapshot_policy::when_check(predicate f) {
  predicates_.push_back(std::move(f));
  return *this;
}

snapshot_policy& snapshot_policy::when_state(std::type_index state,
                                             predicate f) {
  // Rules on two different state types fit no actor: `void` matches none.
  if (state_type_ && *state_type_ != state)
    state_type_ = std::type_index{typeid(void)};
  else
    state_type_ = state;
  return when_check(std::move(f));
}

snapshot_policy&
snapshot_policy::snapshot_after_recovery_above(std::optional<int64_t> n) {
  after_recovery_set_ = true;
  after_recovery_ = n;
  return *this;
}

snapshot_policy& snapshot_policy::keep_newest(size_t k) {
  keep_newest_ = k;
  return *this;
}

snapshot_policy& snapshot_policy::delete_events(bool enable) {
  delete_events_ = enable;
  return *this;
}

bool snapshot_policy::should_snapshot(const snapshot_check& c) const {
  if (every_events_ > 0 && c.events_since_snapshot >= every_events_)
    return true;
  if (every_versions_ > 0) {
    if (max_events_ > 0 && c.events_since_snapshot >= max_events_)
      return true;
    if (c.version % every_versions_ == 0
        && c.events_since_snapshot >= std::max<int64_t>(min_events_, 1))
      return true;
  }
  if (interval_.count() > 0 && c.now - c.last_snapshot_time >= interval_)
    return true;
  if (!event_types_.empty() && event_types_.count(c.ev.type) > 0)
    return true;
  for (auto& f : predicates_)
    if (f(c))
      return true;
  return false;
}

bool snapshot_policy::enabled() const {
  return every_events_ > 0 || every_versions_ > 0 || interval_.count() > 0
         || !event_types_.empty() || !predicates_.empty();
}

#ifdef __GLIBCXX__
// A field added to the policy must be compared in same_rules (and then the
// size here updated).
static_assert(sizeof(void*) != 8 || sizeof(snapshot_policy) == 168,
              "snapshot_policy changed: update same_rules");
#endif

bool snapshot_policy::same_rules(const snapshot_policy& other) const {
  return predicates_.empty() && other.predicates_.empty()
         && every_events_ == other.every_events_
         && every_versions_ == other.every_versions_
         && min_events_ == other.min_events_ && max_events_ == other.max_events_
         && interval_ == other.interval_ && event_types_ == other.event_types_
         && after_recovery_set_ == other.after_recovery_set_
         && after_recovery_ == other.after_recovery_
         && keep_newest_ == other.keep_newest_
         && delete_events_ == other.delete_events_
         && state_type_ == other.state_type_;
}

std::optional<int64_t> snapshot_policy::max_replay() const {
  if (after_recovery_set_)
    return after_recovery_;
  std::optional<int64_t> result;
  auto take = [&](int64_t n) {
    if (n > 0 && (!result || n < *result))
      result = n;
  };
  take(every_events_);
  if (every_versions_ > 0)
    take(max_events_ > 0 ? max_events_ : every_versions_);
  return result;
}

snapshot_policy
snapshot_policy::from_config(const caf::actor_system_config& cfg) {
  snapshot_policy p;
  auto every = caf::get_or(cfg, "aether.snapshot.every", size_t{0});
  if (every > 0)
    p.every_events(static_cast<int64_t>(every));
  auto versions = caf::get_or(cfg, "aether.snapshot.every-versions", size_t{0});
  if (versions > 0)
    p.every_versions(static_cast<int64_t>(versions),
                     static_cast<int64_t>(caf::get_or(
                       cfg, "aether.snapshot.min-events", size_t{0})),
                     static_cast<int64_t>(caf::get_or(
                       cfg, "aether.snapshot.max-events", size_t{0})));
  auto interval = caf::get_or(cfg, "aether.snapshot.interval",
                              caf::timespan{0});
  if (interval.count() > 0)
    p.every_interval(interval);
  auto types = caf::get_or(cfg, "aether.snapshot.event-types",
                           std::vector<std::string>{});
  if (!types.empty())
    p.on_event_types(std::set<std::string>(types.begin(), types.end()));
  auto above = caf::get_or(cfg, "aether.snapshot.after-recovery-above",
                           size_t{0});
  if (above > 0)
    p.snapshot_after_recovery_above(static_cast<int64_t>(above));
  p.keep_newest(caf::get_or(cfg, "aether.snapshot.keep", size_t{0}));
  p.delete_events(caf::get_or(cfg, "aether.snapshot.delete-events", false));
  return p;
}

void add_snapshot_options(caf::config_option_set& options) {
  caf::config_option_adder{options, "aether.snapshot"}
    .add<size_t>("every", "snapshot every N events (0: off)")
    .add<size_t>("every-versions", "snapshot at versions divisible by N")
    .add<size_t>("min-events", "with every-versions: at least N events apart")
    .add<size_t>("max-events", "with every-versions: at most N events apart")
    .add<caf::timespan>("interval", "at most one snapshot per interval")
    .add<std::vector<std::string>>("event-types",
                                   "snapshot after events of these types")
    .add<size_t>("after-recovery-above",
                 "snapshot after a recovery that replayed more than N events")
    .add<size_t>("keep", "keep the newest N snapshots (0: all)")
    .add<bool>("delete-events", "delete events up to the oldest kept snapshot");
}

} // namespace aether
