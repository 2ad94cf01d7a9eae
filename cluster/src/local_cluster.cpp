#include "aether/cluster/local_cluster.hpp"

#include "aether/cluster/placement.hpp"
#include "aether/nats/nats_connection.hpp"
#include "aether/runtime/config.hpp"

#include <algorithm>
#include <thread>

namespace aether {

local_cluster::local_cluster(setup s) : setup_(std::move(s)) {
  if (!setup_.make_config)
    setup_.make_config = [] {
      return std::make_unique<aether::config>();
    };
}

local_cluster::~local_cluster() {
  for (auto& m : members_)
    stop(*m);
}

caf::error local_cluster::start(member& m, size_t i) {
  m.cfg = setup_.make_config();
  m.sys = std::make_unique<caf::actor_system>(*m.cfg);
  auto nopts = setup_.nats;
  nopts.name = setup_.node_prefix + std::to_string(i);
  auto conn = nats_connection::connect(nopts);
  if (!conn)
    return conn.error();
  auto opts = setup_.options;
  opts.node_id = setup_.node_prefix + std::to_string(i);
  auto c = cluster::join(*m.sys, *conn, opts, setup_.make_types(*m.sys));
  if (!c)
    return c.error();
  m.node = std::move(*c);
  m.running = true;
  return caf::none;
}

void local_cluster::stop(member& m) {
  if (m.node && m.running)
    m.node->leave();
  m.running = false;
  m.node.reset();
  m.sys.reset();
  m.cfg.reset();
}

caf::expected<size_t> local_cluster::add_node() {
  members_.push_back(std::make_unique<member>());
  auto i = members_.size() - 1;
  if (auto err = start(*members_[i], i)) {
    members_.pop_back();
    return err;
  }
  return i;
}

caf::error local_cluster::restart(size_t i) {
  auto& m = *members_.at(i);
  stop(m);
  return start(m, i);
}

caf::error local_cluster::leave(size_t i) {
  auto& m = *members_.at(i);
  if (!m.running)
    return caf::none;
  auto err = m.node->leave();
  m.running = false;
  return err;
}

void local_cluster::crash(size_t i) {
  auto& m = *members_.at(i);
  if (!m.running)
    return;
  m.node->crash();
  m.running = false;
}

bool local_cluster::running(size_t i) const {
  return members_.at(i)->running;
}

size_t local_cluster::size() const {
  return members_.size();
}

cluster& local_cluster::node(size_t i) {
  return *members_.at(i)->node;
}

caf::actor_system& local_cluster::system(size_t i) {
  return *members_.at(i)->sys;
}

bool local_cluster::balanced() const {
  std::vector<std::string> live;
  for (auto& m : members_)
    if (m->running)
      live.push_back(m->node->node_id());
  std::sort(live.begin(), live.end());
  if (live.empty())
    return false;
  auto shards = setup_.options.shard_count;
  std::vector<int> owners(shards, 0);
  for (auto& m : members_) {
    if (!m->running)
      continue;
    if (m->node->members() != live)
      return false;
    for (auto s : m->node->owned_shards()) {
      if (s >= shards || owner_of(s, live) != m->node->node_id())
        return false;
      owners[s] += 1;
    }
  }
  return std::all_of(owners.begin(), owners.end(), [](int n) {
    return n == 1;
  });
}

bool local_cluster::wait_balanced(std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!balanced()) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  return true;
}

} // namespace aether
