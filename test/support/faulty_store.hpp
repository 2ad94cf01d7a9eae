#pragma once

// A store decorator for failure tests: forwards to a real store, and fails
// the next appends with a chosen error when told to.

#include "aether/core/error.hpp"
#include "aether/persistence/forwarding_store.hpp"

#include <atomic>
#include <memory>
#include <mutex>

namespace aether::test {

class faulty_store : public forwarding_store {
public:
  using forwarding_store::forwarding_store;

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

  void append(std::vector<event> batch, append_callback done) override {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (failures_ > 0) {
        --failures_;
        if (land_)
          inner().save_events(batch);
        done(err_);
        return;
      }
    }
    forwarding_store::append(std::move(batch), std::move(done));
  }

  caf::error save_snapshot(actor_snapshot s) override {
    if (snapshot_failures_ > 0) {
      --snapshot_failures_;
      return make_persistence_error(persistence_error::unavailable,
                                    "injected snapshot failure");
    }
    return forwarding_store::save_snapshot(std::move(s));
  }

private:
  std::mutex mtx_;
  caf::error err_;
  int failures_ = 0;
  bool land_ = false;
  std::atomic<int> snapshot_failures_{0};
};

} // namespace aether::test
