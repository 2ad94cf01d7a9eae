#include "aether/cluster_projections/cluster_projections.hpp"

#include "aether/core/error.hpp"
#include "projection_entity.hpp"

#include <algorithm>
#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

namespace aether {

void cluster_projections::add_to(
  entity_types& types, std::map<std::string, projection_starter> starters) {
  auto shared
    = std::make_shared<const std::map<std::string, projection_starter>>(
      std::move(starters));
  types[entity_type] = [shared](caf::actor_system& sys,
                                const std::string& name) -> caf::actor {
    auto i = shared->find(name);
    if (i == shared->end())
      return {}; // the router answers: the factory returned no actor
    return sys.spawn<detail::projection_entity, caf::detached>(name, i->second);
  };
}

caf::expected<std::unique_ptr<cluster_projections>>
cluster_projections::keep_running(cluster& node, std::vector<std::string> names,
                                  std::chrono::milliseconds interval) {
  if (interval.count() <= 0)
    return invalid_field("interval", "must be positive (is "
                                       + std::to_string(interval.count())
                                       + " ms)");
  std::unique_ptr<cluster_projections> out{
    new cluster_projections(node.router(), std::move(names), interval)};
  out->thread_ = std::thread{[p = out.get()] {
    p->loop();
  }};
  return out;
}

cluster_projections::cluster_projections(caf::actor router,
                                         std::vector<std::string> names,
                                         std::chrono::milliseconds interval)
  : router_(std::move(router)), names_(std::move(names)), interval_(interval) {
  for (auto& n : names_)
    health_[n]
      = make_persistence_error(persistence_error::unavailable,
                               "projection \"" + n + "\" was not asked yet");
}

cluster_projections::~cluster_projections() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable())
    thread_.join();
}

std::map<std::string, caf::error> cluster_projections::health() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return health_;
}

void cluster_projections::loop() {
  // An ask waits for a shard without an owner only this long, so that
  // stopping never waits longer.
  auto timeout = std::max<std::chrono::milliseconds>(interval_,
                                                     std::chrono::seconds{5});
  std::unique_lock<std::mutex> lock{mtx_};
  while (!stopping_) {
    for (auto& name : names_) {
      lock.unlock();
      caf::error answer;
      {
        // Hidden: it never holds up the actor system's shutdown.
        caf::scoped_actor self{router_.home_system(), true};
        self
          ->request(router_, timeout, route_atom::value,
                    std::string{entity_type}, name,
                    caf::make_message(projection_ping_atom::value))
          .receive([](uint64_t) {},
                   [&answer](caf::error& err) {
                     answer = std::move(err);
                   });
      }
      lock.lock();
      health_[name] = std::move(answer);
      if (stopping_)
        return;
    }
    cv_.wait_for(lock, interval_, [this] {
      return stopping_;
    });
  }
}

} // namespace aether
