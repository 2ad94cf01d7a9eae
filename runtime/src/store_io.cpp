#include "aether/runtime/store_io.hpp"

#include "aether/runtime/io_job.hpp"
#include "aether/runtime/runtime_error.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/unit.hpp>
#include <exception>
#include <functional>

namespace aether {

io_job::~io_job() = default;

namespace {

caf::behavior io_worker(caf::event_based_actor*) {
  return {
    [](io_atom, const io_job_ptr& job) -> caf::result<caf::unit_t> {
      // A job runs store calls and user code (a state's from_snapshot);
      // whatever it throws is the requester's error, never the worker's
      // death (other actors share this worker).
      try {
        job->run();
      } catch (...) {
        return make_user_code_error("an I/O job", std::current_exception());
      }
      return caf::unit;
    },
  };
}

} // namespace

struct store_io::shared {
  caf::actor_system& sys;
  bool detached;
  std::mutex mtx;
  std::vector<caf::actor> workers;
  bool stopping = false;
  size_t replaced = 0;

  shared(caf::actor_system& s, bool d) : sys(s), detached(d) {}

  caf::actor spawn_worker() {
    return detached ? sys.spawn<caf::detached + caf::hidden>(io_worker)
                    : sys.spawn<caf::hidden>(io_worker);
  }
};

namespace {

void watch(const std::shared_ptr<store_io::shared>& s, size_t i,
           const caf::actor& w) {
  std::weak_ptr<store_io::shared> weak = s;
  w->attach_functor([weak, i](const caf::error&) {
    // A worker that terminates while the store_io lives is replaced, so
    // the actors mapped to it keep working.
    auto self = weak.lock();
    if (!self)
      return;
    caf::actor fresh;
    {
      std::lock_guard<std::mutex> guard{self->mtx};
      if (self->stopping)
        return;
      fresh = self->spawn_worker();
      self->workers[i] = fresh;
      ++self->replaced;
    }
    watch(self, i, fresh);
  });
}

} // namespace

store_io::store_io(caf::actor_system& sys, options opts)
  : state_(std::make_shared<shared>(sys, opts.detached)) {
  auto n = opts.workers == 0 ? size_t{1} : opts.workers;
  std::vector<caf::actor> fresh;
  for (size_t i = 0; i < n; ++i)
    fresh.push_back(state_->spawn_worker());
  {
    std::lock_guard<std::mutex> guard{state_->mtx};
    state_->workers = fresh;
  }
  for (size_t i = 0; i < n; ++i)
    watch(state_, i, fresh[i]);
}

store_io::~store_io() {
  std::vector<caf::actor> workers;
  {
    std::lock_guard<std::mutex> guard{state_->mtx};
    state_->stopping = true;
    workers.swap(state_->workers);
  }
  for (auto& w : workers)
    caf::anon_send_exit(w, caf::exit_reason::user_shutdown);
}

caf::actor store_io::worker_for(const std::string& actor_id) const {
  std::lock_guard<std::mutex> guard{state_->mtx};
  auto& ws = state_->workers;
  return ws[std::hash<std::string>{}(actor_id) % ws.size()];
}

void store_io::append(std::shared_ptr<event_store> store,
                      std::vector<event> batch,
                      event_store::append_callback done) const {
  if (state_->detached) {
    store->append(std::move(batch), std::move(done));
    return;
  }
  auto worker = worker_for(batch.front().actor_id);
  auto job = make_io_job(
    [store, batch{std::move(batch)}, done{std::move(done)}]() mutable {
      done(store->save_events(std::move(batch)));
      return true;
    });
  caf::anon_send(worker, io_atom::value, io_job_ptr{job});
}

bool store_io::detached() const {
  return state_->detached;
}

size_t store_io::size() const {
  std::lock_guard<std::mutex> guard{state_->mtx};
  return state_->workers.size();
}

size_t store_io::workers_replaced() const {
  std::lock_guard<std::mutex> guard{state_->mtx};
  return state_->replaced;
}

} // namespace aether
