#include "aether/runtime/event_follower.hpp"

#include "aether/persistence/error.hpp"
#include "aether/runtime/event_stored.hpp"
#include "aether/runtime/io_job.hpp"
#include "call_gate.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <deque>
#include <iostream>
#include <map>

namespace aether {

namespace {

using retry_atom = caf::atom_constant<caf::atom("aether_rty")>;

struct track {
  int64_t last = 0;
  bool seen = false;
  bool catching_up = false;
  std::deque<bus_event> pending;
};

struct follower_state {
  std::map<std::pair<std::string, std::string>, track> actors;
};

using follower_actor = caf::stateful_actor<follower_state>;

struct follower_env {
  store_context ctx;
  event_follower::handler fn;
  follower_options opts;
  std::shared_ptr<event_follower::stats> stats;
  std::shared_ptr<detail::call_gate> gate;
};

void handle(follower_actor* self, const follower_env& env, const bus_event& e);

void hand_over(const follower_env& env, const std::string& ns,
               const event& ev) {
  if (!env.opts.event_types.empty() && env.opts.event_types.count(ev.type) == 0)
    return;
  bool called = false;
  try {
    called = env.gate->call([&] {
      env.fn(ns, ev);
    });
  } catch (...) {
    env.stats->handler_errors += 1;
    return;
  }
  if (called)
    env.stats->delivered += 1;
}

void drain_pending(follower_actor* self, const follower_env& env,
                   const std::pair<std::string, std::string>& key) {
  auto& t = self->state.actors[key];
  while (!t.catching_up && !t.pending.empty()) {
    auto next = std::move(t.pending.front());
    t.pending.pop_front();
    handle(self, env, next);
  }
}

void catch_up(follower_actor* self, const follower_env& env,
              const std::pair<std::string, std::string>& key, int64_t through) {
  auto& t = self->state.actors[key];
  t.catching_up = true;
  auto store = env.ctx.store;
  auto actor_id = key.second;
  auto from = t.last + 1;
  auto job = make_io_job([store, actor_id, from] {
    return store->get_events(actor_id, from);
  });
  auto worker = env.ctx.io->worker_for(actor_id);
  self->request(worker, env.opts.read_timeout, io_atom::value, io_job_ptr{job})
    .then(
      [self, env, key, job, through] {
        auto& res = job->result();
        auto& t = self->state.actors[key];
        if (!res) {
          env.stats->read_failures += 1;
          self->delayed_send(self, env.opts.retry_delay, retry_atom::value,
                             key.first, key.second, through);
          return;
        }
        for (auto& ev : *res) {
          if (ev.version <= t.last)
            continue;
          if (ev.version > t.last + 1)
            env.stats->lost += static_cast<uint64_t>(ev.version - t.last - 1);
          t.last = ev.version;
          env.stats->caught_up += 1;
          hand_over(env, key.first, ev);
        }
        if (t.last < through) {
          // The store does not have them (yet, or any more): a later
          // notification or event triggers the next attempt.
          env.stats->read_failures += 1;
          self->delayed_send(self, env.opts.retry_delay, retry_atom::value,
                             key.first, key.second, through);
          return;
        }
        t.catching_up = false;
        drain_pending(self, env, key);
      },
      [self, env, key, through](caf::error&) {
        env.stats->read_failures += 1;
        self->delayed_send(self, env.opts.retry_delay, retry_atom::value,
                           key.first, key.second, through);
      });
}

void handle(follower_actor* self, const follower_env& env, const bus_event& e) {
  auto& ev = e.event();
  std::pair<std::string, std::string> key{e.ns(), ev.actor_id};
  auto i = self->state.actors.find(key);
  if (i == self->state.actors.end()) {
    track fresh;
    fresh.last = env.opts.from_start ? 0 : ev.version - 1;
    i = self->state.actors.emplace(key, std::move(fresh)).first;
  }
  auto& t = i->second;
  bool first_sight = !t.seen;
  t.seen = true;
  if (t.catching_up) {
    t.pending.push_back(e);
    return;
  }
  bool notification = ev.type == event_stored_type;
  if (ev.version <= t.last) {
    if (!notification)
      env.stats->duplicates += 1;
    return;
  }
  if (!notification && ev.version == t.last + 1) {
    t.last = ev.version;
    hand_over(env, e.ns(), ev);
    return;
  }
  // Versions are missing (or, on first sight with `from_start`, the history
  // is): read them from the store, this one included (it was stored before
  // it was published).
  if (!first_sight)
    env.stats->gaps += 1;
  catch_up(self, env, key, ev.version);
}

} // namespace

caf::expected<std::unique_ptr<event_follower>>
event_follower::start(std::shared_ptr<event_bus> bus,
                      const std::string& pattern, store_context ctx, handler fn,
                      follower_options opts) {
  if (!bus || !ctx.store || !ctx.io)
    return make_persistence_error(persistence_error::invalid_argument,
                                  "follower: needs a bus, a store and I/O "
                                  "workers");
  if (!fn)
    return make_persistence_error(persistence_error::invalid_argument,
                                  "follower: handler must not be empty");
  auto stats = std::make_shared<event_follower::stats>();
  auto gate = std::make_shared<detail::call_gate>();
  follower_env env{ctx, std::move(fn), opts, stats, gate};
  auto actor
    = bus->system().spawn([env](follower_actor* self) -> caf::behavior {
        return {
          [self, env](bus_atom, const bus_event& e) {
            handle(self, env, e);
          },
          [self, env](retry_atom, const std::string& ns,
                      const std::string& actor_id, int64_t through) {
            catch_up(self, env, {ns, actor_id}, through);
          },
        };
      });
  subscription_options sopts;
  sopts.filter.actor_pattern = opts.actor_pattern;
  sopts.buffer = opts.buffer;
  auto sub = bus->subscribe(pattern, actor, sopts);
  if (!sub) {
    caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
    return sub.error();
  }
  std::unique_ptr<event_follower> result{new event_follower};
  result->bus_ = std::move(bus);
  result->sub_ = *sub;
  result->actor_ = std::move(actor);
  result->stats_ = std::move(stats);
  result->gate_ = std::move(gate);
  return result;
}

event_follower::~event_follower() {
  if (gate_)
    gate_->close(); // the handler is not running and never runs again
  if (bus_)
    bus_->unsubscribe(sub_);
  if (actor_)
    caf::anon_send_exit(actor_, caf::exit_reason::user_shutdown);
}

} // namespace aether
