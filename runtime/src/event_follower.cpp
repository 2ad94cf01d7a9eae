#include "aether/runtime/event_follower.hpp"

#include "aether/core/error.hpp"
#include "aether/runtime/event_stored.hpp"
#include "aether/runtime/io_job.hpp"
#include "call_gate.hpp"

#include <algorithm>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <deque>
#include <iostream>
#include <map>
#include <set>
#include <vector>

namespace aether {

namespace {

using retry_atom = caf::atom_constant<caf::atom("aether_rty")>;

struct track {
  int64_t last = 0;
  bool seen = false;
  bool catching_up = false;
  uint64_t last_used = 0;
  std::deque<bus_event> pending;
};

struct follower_state {
  std::map<std::pair<std::string, std::string>, track> actors;
  // Actors forgotten by eviction: seen again, they do not start over at
  // version 1 (that would hand their history over twice).
  std::set<std::pair<std::string, std::string>> forgotten;
  std::deque<std::pair<std::string, std::string>> forgotten_order;
  uint64_t tick = 0;
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

void hand_over_current(const follower_env& env, const std::string& ns,
                       const event& ev);

void hand_over(const follower_env& env, const std::string& ns,
               const event& ev) {
  auto err = event_upcasters::each_current(
    env.opts.upcasters, ev, [&](const event& current) {
      hand_over_current(env, ns, current);
    });
  if (err)
    env.stats->upcast_failures += 1;
}

void hand_over_current(const follower_env& env, const std::string& ns,
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
  std::shared_ptr<event_store> store = env.ctx.store;
  if (env.opts.store_for)
    store = env.opts.store_for(key.first);
  if (!store) {
    env.stats->read_failures += 1;
    self->delayed_send(self, env.opts.retry_delay, retry_atom::value, key.first,
                       key.second, through);
    return;
  }
  auto actor_id = key.second;
  auto from = t.last + 1;
  auto batch = std::max<size_t>(env.opts.catch_up_batch, 1);
  auto job = make_io_job([store, actor_id, from, through, batch] {
    return store->get_events(actor_id, from, through, batch);
  });
  // Not the worker of the actor itself: a follower's reads never queue
  // behind (or in front of) that actor's persists.
  auto worker = env.ctx.io->worker_for("follower/" + actor_id);
  self->request(worker, env.opts.read_timeout, io_atom::value, io_job_ptr{job})
    .then(
      [self, env, key, job, through, batch] {
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
        if (t.last < through && res->size() == batch) {
          // A full batch: read the next one right away.
          catch_up(self, env, key, through);
          return;
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

/// Forgets the least recently seen tenth of the idle actors when the map is
/// full (a scan per eviction round, not per event).
void evict_if_full(follower_state& st, const follower_env& env) {
  auto cap = std::max<size_t>(env.opts.max_tracked_actors, 1);
  if (st.actors.size() < cap)
    return;
  std::vector<std::pair<uint64_t, std::pair<std::string, std::string>>> idle;
  for (auto& [key, t] : st.actors)
    if (!t.catching_up && t.pending.empty())
      idle.emplace_back(t.last_used, key);
  auto n = std::min(idle.size(), std::max<size_t>(cap / 10, 1));
  std::nth_element(idle.begin(), idle.begin() + static_cast<ptrdiff_t>(n),
                   idle.end());
  for (size_t k = 0; k < n; ++k) {
    st.actors.erase(idle[k].second);
    if (st.forgotten.insert(idle[k].second).second)
      st.forgotten_order.push_back(idle[k].second);
    env.stats->evicted += 1;
  }
  // The names of forgotten actors (no versions, no queues) are kept for ten
  // times as many actors, oldest out first.
  while (st.forgotten_order.size() > 10 * cap) {
    st.forgotten.erase(st.forgotten_order.front());
    st.forgotten_order.pop_front();
  }
}

void handle(follower_actor* self, const follower_env& env, const bus_event& e) {
  auto& ev = e.event();
  std::pair<std::string, std::string> key{e.ns(), ev.actor_id};
  auto& st = self->state;
  auto i = st.actors.find(key);
  if (i == st.actors.end()) {
    evict_if_full(st, env);
    track fresh;
    fresh.last
      = env.opts.from_start && !st.forgotten.count(key) ? 0 : ev.version - 1;
    i = st.actors.emplace(key, std::move(fresh)).first;
  }
  auto& t = i->second;
  t.last_used = ++st.tick;
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
  if (pattern.find_first_of("*>") != std::string::npos && !opts.store_for)
    return make_persistence_error(
      persistence_error::invalid_argument,
      "pattern: \"" + pattern
        + "\" spans namespaces, and each namespace has its own store; set "
          "follower_options::store_for to name the store of a namespace");
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
