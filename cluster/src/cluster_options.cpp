#include "aether/cluster/cluster_options.hpp"

#include "aether/runtime/runtime_error.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/config_option_adder.hpp>
#include <caf/config_option_set.hpp>
#include <caf/timespan.hpp>

namespace aether {

namespace {

std::chrono::milliseconds ms(caf::timespan t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t);
}

bool is_name(const std::string& x) {
  return !x.empty() && x.size() <= 64
         && x.find_first_not_of("abcdefghijklmnopqrstuvwxyz"
                                "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
              == std::string::npos;
}

} // namespace

caf::expected<cluster_options>
cluster_options::from_config(const caf::actor_system_config& cfg) {
  cluster_options o;
  o.name = caf::get_or(cfg, "aether.cluster.name", o.name);
  o.node_id = caf::get_or(cfg, "aether.cluster.node-id", o.node_id);
  auto shards = caf::get_or(cfg, "aether.cluster.shard-count",
                            static_cast<int64_t>(o.shard_count));
  if (shards < 1 || shards > 65536)
    return make_runtime_error(runtime_error::invalid_option,
                              "aether.cluster.shard-count: must be between 1 "
                              "and 65536 (is "
                                + std::to_string(shards) + ")");
  o.shard_count = static_cast<uint32_t>(shards);
  auto get_ms = [&](const char* key, std::chrono::milliseconds def) {
    return ms(caf::get_or(cfg, key, caf::timespan{def}));
  };
  o.lease_ttl = get_ms("aether.cluster.lease-ttl", o.lease_ttl);
  o.renew_interval = get_ms("aether.cluster.renew-interval", o.renew_interval);
  o.poll_interval = get_ms("aether.cluster.poll-interval", o.poll_interval);
  o.unavailable_timeout = get_ms("aether.cluster.unavailable-timeout",
                                 o.unavailable_timeout);
  o.request_timeout = get_ms("aether.cluster.request-timeout",
                             o.request_timeout);
  o.handoff_timeout = get_ms("aether.cluster.handoff-timeout",
                             o.handoff_timeout);
  auto buffer = caf::get_or(cfg, "aether.cluster.buffer-size",
                            static_cast<int64_t>(o.buffer_size));
  if (buffer < 0)
    return make_runtime_error(runtime_error::invalid_option,
                              "aether.cluster.buffer-size: must be at least 0 "
                              "(is "
                                + std::to_string(buffer) + ")");
  o.buffer_size = static_cast<size_t>(buffer);
  o.replicas = static_cast<int>(
    caf::get_or(cfg, "aether.cluster.replicas", int64_t{o.replicas}));
  o.remember_entities = caf::get_or(cfg, "aether.cluster.remember-entities",
                                    o.remember_entities);
  auto passivation = passivation_options::from_config(cfg);
  if (!passivation)
    return std::move(passivation.error());
  o.passivation = *passivation;
  if (auto err = o.validate())
    return err;
  return o;
}

caf::error cluster_options::validate() const {
  auto bad = [](const char* option, const std::string& rule) {
    return make_runtime_error(runtime_error::invalid_option,
                              std::string{option} + ": " + rule);
  };
  if (!is_name(name))
    return bad("aether.cluster.name (name)",
               "1 to 64 letters, digits, - or _ (is \"" + name + "\")");
  if (!node_id.empty() && !is_name(node_id))
    return bad("aether.cluster.node-id (node_id)",
               "1 to 64 letters, digits, - or _ (is \"" + node_id + "\")");
  if (shard_count < 1 || shard_count > 65536)
    return bad("aether.cluster.shard-count (shard_count)",
               "must be between 1 and 65536 (is " + std::to_string(shard_count)
                 + ")");
  if (lease_ttl.count() < 100)
    return bad("aether.cluster.lease-ttl (lease_ttl)",
               "must be at least 100 ms (is "
                 + std::to_string(lease_ttl.count()) + " ms)");
  if (renew_interval.count() <= 0 || renew_interval * 2 > lease_ttl)
    return bad("aether.cluster.renew-interval (renew_interval)",
               "must be positive and at most half the lease TTL (is "
                 + std::to_string(renew_interval.count()) + " ms, TTL "
                 + std::to_string(lease_ttl.count()) + " ms)");
  if (poll_interval.count() <= 0 || poll_interval > lease_ttl)
    return bad("aether.cluster.poll-interval (poll_interval)",
               "must be positive and at most the lease TTL (is "
                 + std::to_string(poll_interval.count()) + " ms)");
  auto positive = [&](const char* option, std::chrono::milliseconds t) {
    return t.count() > 0 ? caf::error{}
                         : bad(option, "must be positive (is "
                                         + std::to_string(t.count()) + " ms)");
  };
  if (auto err = positive("aether.cluster.unavailable-timeout "
                          "(unavailable_timeout)",
                          unavailable_timeout))
    return err;
  if (auto err = positive("aether.cluster.request-timeout (request_timeout)",
                          request_timeout))
    return err;
  if (auto err = positive("aether.cluster.handoff-timeout (handoff_timeout)",
                          handoff_timeout))
    return err;
  if (auto err = passivation.validate())
    return err;
  if (replicas < 1 || replicas > 5)
    return bad("aether.cluster.replicas (replicas)",
               "must be between 1 and 5 (is " + std::to_string(replicas) + ")");
  return caf::none;
}

void add_cluster_options(caf::config_option_set& options) {
  caf::config_option_adder{options, "aether.cluster"}
    .add<std::string>("name", "the cluster's namespace")
    .add<std::string>("node-id", "this node's id (default: a UUID)")
    .add<int64_t>("shard-count", "number of shards (same on every node)")
    .add<caf::timespan>("lease-ttl", "a node without heartbeat this long is "
                                     "dead")
    .add<caf::timespan>("renew-interval", "heartbeat interval")
    .add<caf::timespan>("poll-interval", "membership and claim interval")
    .add<int64_t>("buffer-size", "requests waiting for an owner, at most")
    .add<caf::timespan>("unavailable-timeout", "wait for an owner, at most")
    .add<caf::timespan>("request-timeout", "wait for an entity's answer")
    .add<caf::timespan>("handoff-timeout", "wait for passivation on hand-over")
    .add<int64_t>("replicas", "copies of the cluster's buckets")
    .add<bool>("remember-entities", "start a shard's entities on its new "
                                    "owner at once");
}

} // namespace aether
