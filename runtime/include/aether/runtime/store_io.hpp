#pragma once

#include "aether/persistence/event_store.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace aether {

/// The I/O workers that run blocking store calls (reads, snapshot saves) for
/// persistent actors, so that no store call blocks one of CAF's scheduler
/// threads; appends never block and go to the store directly (`append`).
///
/// Each worker is a CAF actor; in production they are detached (each has its
/// own thread). An actor id always maps to the same worker, so one actor's
/// store calls run in order. Tests that drive the system with CAF's
/// `test_coordinator` use `detached = false` to make the workers
/// deterministic (the memory store does no real I/O).
class store_io {
public:
  struct options {
    /// Number of workers (threads when detached): reads and snapshot saves
    /// in flight at once. Idle workers cost a thread each and nothing else.
    size_t workers = 16;
    /// Detached workers (own threads). Only tests set this to false.
    bool detached = true;
  };

  store_io(caf::actor_system& sys, options opts);

  /// Stops the workers.
  ~store_io();

  store_io(const store_io&) = delete;
  store_io& operator=(const store_io&) = delete;

  /// The worker that runs the store calls of `actor_id`. A job that throws
  /// makes its request fail with `runtime_error::user_code_failed`; the
  /// worker goes on. A worker that terminates anyway is replaced at once.
  caf::actor worker_for(const std::string& actor_id) const;

  size_t size() const;

  /// Starts an append of a persistent actor: `store->append` on the calling
  /// thread (it does not block). Without detached workers (tests on CAF's
  /// `test_coordinator`) the worker of the batch's actor runs it as a job
  /// that waits for the completion: a completion from a store's own thread
  /// cannot arrive outside the test's control, and the test decides when.
  void append(std::shared_ptr<event_store> store, std::vector<event> batch,
              event_store::append_callback done) const;

  /// False for tests on CAF's `test_coordinator`: every store call then runs
  /// as a job of the test's scheduler.
  bool detached() const;

  /// Workers replaced after they terminated (0 in a healthy system).
  size_t workers_replaced() const;

  struct shared;

private:
  std::shared_ptr<shared> state_;
};

} // namespace aether
