#pragma once

// A store decorator for failure tests: forwards to a real store, and fails
// the next appends with a chosen error when told to.

#include "aether/persistence/error.hpp"
#include "aether/persistence/snapshot_store.hpp"

#include <atomic>
#include <memory>
#include <mutex>

namespace aether::test {

class faulty_store : public event_store_with_snapshots {
public:
  explicit faulty_store(std::shared_ptr<event_store_with_snapshots> inner)
    : inner_(std::move(inner)) {}

  /// The next `n` appends fail with `err`; with `land` they are stored first
  /// (an unknown outcome that did land).
  void fail_appends(caf::error err, int n = 1, bool land = false) {
    std::lock_guard<std::mutex> guard{mtx_};
    err_ = std::move(err);
    failures_ = n;
    land_ = land;
  }

  /// The next `n` snapshot saves fail.
  void fail_snapshots(int n) {
    snapshot_failures_ = n;
  }

  caf::expected<append_result> save_events(std::vector<event> batch) override {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (failures_ > 0) {
        --failures_;
        if (land_)
          inner_->save_events(batch);
        return err_;
      }
    }
    return inner_->save_events(std::move(batch));
  }
  caf::expected<replay_result> get_events_with_errors(const std::string& id,
                                                      event_range r) override {
    return inner_->get_events_with_errors(id, r);
  }
  caf::expected<int64_t> get_latest_version(const std::string& id) override {
    return inner_->get_latest_version(id);
  }
  caf::error delete_events_to(const std::string& id, int64_t v) override {
    return inner_->delete_events_to(id, v);
  }
  caf::error save_snapshot(actor_snapshot s) override {
    if (snapshot_failures_ > 0) {
      --snapshot_failures_;
      return make_persistence_error(persistence_error::unavailable,
                                    "injected snapshot failure");
    }
    return inner_->save_snapshot(std::move(s));
  }
  caf::expected<std::optional<actor_snapshot>>
  get_latest_snapshot(const std::string& id, snapshot_criteria c) override {
    return inner_->get_latest_snapshot(id, c);
  }
  caf::expected<size_t> delete_snapshots(const std::string& id,
                                         snapshot_criteria c) override {
    return inner_->delete_snapshots(id, c);
  }

private:
  std::shared_ptr<event_store_with_snapshots> inner_;
  std::mutex mtx_;
  caf::error err_;
  int failures_ = 0;
  bool land_ = false;
  std::atomic<int> snapshot_failures_{0};
};

} // namespace aether::test
