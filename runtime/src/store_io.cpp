#include "aether/runtime/store_io.hpp"

#include "aether/runtime/io_job.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/unit.hpp>
#include <functional>

namespace aether {

io_job::~io_job() = default;

namespace {

caf::behavior io_worker(caf::event_based_actor*) {
  return {
    [](io_atom, const io_job_ptr& job) {
      job->run();
      return caf::unit;
    },
  };
}

} // namespace

store_io::store_io(caf::actor_system& sys, options opts) {
  auto n = opts.workers == 0 ? size_t{1} : opts.workers;
  workers_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (opts.detached)
      workers_.push_back(sys.spawn<caf::detached + caf::hidden>(io_worker));
    else
      workers_.push_back(sys.spawn<caf::hidden>(io_worker));
  }
}

store_io::~store_io() {
  for (auto& w : workers_)
    caf::anon_send_exit(w, caf::exit_reason::user_shutdown);
}

const caf::actor& store_io::worker_for(const std::string& actor_id) const {
  return workers_[std::hash<std::string>{}(actor_id) % workers_.size()];
}

} // namespace aether
