#include "aether/runtime/persistent_actor_base.hpp"

// Snapshots: the policy check after each stored event, and saving one
// (with retention) on the I/O worker without stopping commands.

#include "aether/core/error.hpp"
#include "aether/snapshot/retention.hpp"

#include <boost/json/serialize.hpp>

namespace aether {

bool persistent_actor_base::count_stored(const event& e) {
  ++events_since_snapshot_;
  snapshot_check check{e,
                       e.version,
                       events_since_snapshot_,
                       last_snapshot_time_,
                       aether::now(),
                       state_address(),
                       state_type_id()};
  return opts_->snapshots.should_snapshot(check);
}

void persistent_actor_base::save_snapshot() {
  if (version_ > 0)
    take_snapshot();
}

void persistent_actor_base::take_snapshot(std::function<void()> done) {
  if (codec().decode == nullptr) {
    // A state without a snapshot codec: nothing to save (passivation and
    // `save_snapshot` go on without one; a policy was refused at spawn).
    if (done)
      done();
    return;
  }
  events_since_snapshot_ = 0;
  last_snapshot_time_ = aether::now();
  actor_snapshot snap;
  snap.actor_id = persistence_id_;
  snap.version = version_;
  try {
    snap.state = encode_state();
  } catch (...) {
    ctx_->metrics->snapshot_failures += 1;
    log(describe(
      user_code_error("to_snapshot at version " + std::to_string(version_),
                      std::current_exception())));
    if (done)
      done();
    return;
  }
  snapshot_bytes_ = boost::json::serialize(snap.state).size();
  update_state_bytes();
  snap.time = last_snapshot_time_;
  snap.store_position = position_;
  snap.schema_version = opts_->state_schema_version;
  auto store = ctx_->store;
  auto keep = opts_->snapshots.retention();
  auto delete_events = opts_->snapshots.deletes_events();
  auto job = make_io_job(
    [store, snap{std::move(snap)}, keep, delete_events]() -> caf::error {
      if (auto err = store->save_snapshot(snap))
        return err;
      return apply_retention(*store, snap.actor_id, snap.version, keep,
                             delete_events);
    });
  auto version = version_;
  run_io(
    job, std::chrono::milliseconds{0},
    [this, job, version, done]() {
      if (auto& err = job->result()) {
        ctx_->metrics->snapshot_failures += 1;
        log("snapshot of \"" + persistence_id_ + "\" at version "
            + std::to_string(version) + " failed: " + describe(err));
      } else {
        ctx_->metrics->snapshots_saved += 1;
      }
      if (done)
        done();
    },
    [this, version, done](caf::error& err) {
      ctx_->metrics->snapshot_failures += 1;
      log("snapshot of \"" + persistence_id_ + "\" at version "
          + std::to_string(version) + " failed: " + describe(err));
      if (done)
        done();
    });
}

std::optional<uint64_t> persistent_actor_base::state_memory_size() const {
  return std::nullopt;
}

void persistent_actor_base::update_state_bytes() {
  uint64_t bytes = snapshot_bytes_;
  try {
    if (auto own = state_memory_size())
      bytes = *own;
  } catch (...) {
    log(describe(user_code_error("memory_size", std::current_exception())));
  }
  state_bytes_.store(bytes, std::memory_order_relaxed);
}

} // namespace aether
