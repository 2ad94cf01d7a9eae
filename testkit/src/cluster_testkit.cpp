#include "aether/testkit/cluster_testkit.hpp"

#include "aether/core/error.hpp"
#include "aether/jetstream/jetstream_store.hpp"
#include "aether/nats/nats_connection.hpp"
#include "aether/testkit/check_failed.hpp"

namespace aether::testkit {

cluster_options cluster_testkit_options::test_defaults() {
  using namespace std::chrono_literals;
  cluster_options o;
  o.shard_count = 64;
  o.lease_ttl = 2s;
  o.renew_interval = 500ms;
  o.poll_interval = 100ms;
  o.request_timeout = 10s;
  o.unavailable_timeout = 15s;
  return o;
}

cluster_testkit::cluster_testkit(cluster_testkit_options opts)
  : server_(std::make_unique<nats_server>()) {
  if (!opts.make_types)
    throw check_failed("cluster_testkit: make_types is empty (name the "
                       "entity types of a node)");
  nats_options nopts;
  nopts.servers = {server_->url()};
  local_cluster::setup s;
  s.make_config = [configure = opts.configure] {
    auto cfg = std::make_unique<aether::config>();
    if (configure)
      configure(*cfg);
    return std::unique_ptr<caf::actor_system_config>{std::move(cfg)};
  };
  s.nats = nopts;
  s.options = opts.cluster;
  s.options.name = opts.name;
  s.make_types = [nopts, name = opts.name,
                  make = opts.make_types](caf::actor_system& sys) {
    auto conn = nats_connection::connect(nopts);
    if (!conn)
      throw check_failed("cluster_testkit: connecting to the kit's "
                         "nats-server failed: "
                         + describe(conn.error()));
    jetstream_store::options so;
    so.ns = name;
    auto store = jetstream_store::open(*conn, so);
    if (!store)
      throw check_failed("cluster_testkit: opening the JetStream store "
                         "failed: "
                         + describe(store.error()));
    auto ctx = store_context::make(
      sys, std::shared_ptr<event_store_with_snapshots>{std::move(*store)});
    return make(sys, ctx);
  };
  nodes_ = std::make_unique<local_cluster>(std::move(s));
  for (size_t i = 0; i < opts.nodes; ++i)
    if (auto added = nodes_->add_node(); !added)
      throw check_failed("cluster_testkit: node " + std::to_string(i)
                         + " did not start: " + describe(added.error()));
  if (!nodes_->wait_balanced(std::chrono::seconds{30}))
    throw check_failed("cluster_testkit: the nodes did not own every shard "
                       "within 30 s");
}

cluster_testkit::~cluster_testkit() {
  nodes_.reset(); // the nodes leave before the server stops
  server_.reset();
}

} // namespace aether::testkit
