#include "aether/cluster/cluster.hpp"

#include "aether/cluster/placement.hpp"
#include "aether/runtime/actor_registry.hpp"
#include "cluster_node.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

namespace aether {

namespace {

using ref_stop_atom = caf::atom_constant<caf::atom("ae_refstop")>;

} // namespace

caf::expected<std::shared_ptr<cluster>>
cluster::join(caf::actor_system& sys, std::shared_ptr<nats_connection> conn,
              cluster_options opts, entity_types types) {
  auto node = cluster_node::start(sys, std::move(conn), std::move(opts),
                                  std::move(types));
  if (!node)
    return node.error();
  return std::shared_ptr<cluster>{new cluster(std::move(*node))};
}

cluster::cluster(std::unique_ptr<cluster_node> node) : node_(std::move(node)) {
  // nop
}

cluster::~cluster() = default;

caf::actor cluster::router() const {
  return node_->router;
}

caf::actor cluster::ref(const std::string& type, const std::string& id) const {
  auto router = node_->router;
  return node_->core->sys->spawn(
    [router, type, id](caf::event_based_actor* self) {
      // Stops with the router (a monitor, not a link: a ref nobody holds any
      // more must not take the router down with it).
      self->monitor(router);
      self->set_down_handler([self](caf::down_msg&) {
        self->quit();
      });
      self->set_default_handler(
        [self, router, type,
         id](caf::scheduled_actor*,
             caf::message_view& x) -> caf::result<caf::message> {
          return self->delegate(router, route_atom::value, type, id,
                                x.move_content_to_message());
        });
      return caf::behavior{[](ref_stop_atom) {
        // nop: the default handler takes every other message
      }};
    });
}

caf::error cluster::set_passivation(const passivation_options& opts) {
  if (auto err = opts.validate())
    return err;
  caf::anon_send(node_->router, registry_options_atom::value, opts);
  return caf::none;
}

caf::error cluster::leave() {
  return node_->leave();
}

void cluster::crash() {
  node_->crash();
}

const std::string& cluster::node_id() const {
  return node_->core->opts.node_id;
}

uint32_t cluster::shard_count() const {
  return node_->core->opts.shard_count;
}

uint32_t cluster::shard_of(const std::string& type,
                           const std::string& id) const {
  return aether::shard_of(type, id, node_->core->opts.shard_count);
}

std::vector<uint32_t> cluster::owned_shards() const {
  std::lock_guard<std::mutex> guard{node_->core->mtx};
  return node_->core->owned;
}

std::vector<std::string> cluster::members() const {
  std::lock_guard<std::mutex> guard{node_->core->mtx};
  return node_->core->members;
}

std::vector<std::string> cluster::active_entities() const {
  std::lock_guard<std::mutex> guard{node_->core->mtx};
  return {node_->core->active.begin(), node_->core->active.end()};
}

const cluster_metrics& cluster::metrics() const {
  return node_->core->metrics;
}

std::string cluster::prometheus() const {
  return node_->core->metrics.to_prometheus();
}

} // namespace aether
