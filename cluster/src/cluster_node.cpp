#include "cluster_node.hpp"

#include "aether/cluster/lease.hpp"
#include "aether/cluster/placement.hpp"
#include "aether/core/error.hpp"
#include "aether/core/log.hpp"
#include "aether/core/time.hpp"
#include "aether/core/uuid.hpp"
#include "aether/runtime/runtime_error.hpp"
#include "cluster_router.hpp"

#include <algorithm>
#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

namespace aether {

namespace {

std::string lease_key(uint32_t shard) {
  return "shard." + std::to_string(shard);
}

int64_t ns(cluster_node::clock::time_point t) {
  return t.time_since_epoch().count();
}

} // namespace

caf::expected<std::unique_ptr<cluster_node>>
cluster_node::start(caf::actor_system& sys,
                    std::shared_ptr<nats_connection> conn, cluster_options opts,
                    entity_types types) {
  if (auto err = opts.validate())
    return err;
  if (!conn)
    return make_runtime_error(runtime_error::invalid_option,
                              "cluster: no NATS connection");
  if (types.empty())
    return make_runtime_error(runtime_error::invalid_option,
                              "cluster: no entity types");
  for (auto& kv : types)
    if (kv.first.empty() || !kv.second)
      return make_runtime_error(runtime_error::invalid_option,
                                "cluster: entity type \"" + kv.first
                                  + "\" needs a name and a factory");
  if (opts.node_id.empty())
    opts.node_id = make_uuid();
  std::unique_ptr<cluster_node> node{new cluster_node};
  auto core = std::make_shared<cluster_core>();
  core->sys = &sys;
  core->conn = std::move(conn);
  core->opts = std::move(opts);
  core->types = std::move(types);
  core->shard_prefix = "aether.cluster." + core->opts.name + ".shard.";
  core->queue = "aether.cluster." + core->opts.name;
  node->core = core;
  if (auto err = node->open())
    return err;
  node->thread_ = std::thread{[n = node.get()] {
    n->loop();
  }};
  node->heartbeat_thread_ = std::thread{[n = node.get()] {
    n->heartbeat_loop();
  }};
  return node;
}

caf::error cluster_node::open() {
  auto& o = core->opts;
  auto members = kv_bucket::open(core->conn, {"aether_members_" + o.name,
                                              o.lease_ttl, o.replicas});
  if (!members)
    return members.error();
  members_ = std::move(*members);
  auto shards = kv_bucket::open(core->conn,
                                {"aether_shards_" + o.name,
                                 std::chrono::milliseconds{0}, o.replicas});
  if (!shards)
    return shards.error();
  shards_ = std::move(*shards);
  if (auto err = check_shard_count())
    return err;
  if (o.remember_entities) {
    auto registry = entity_registry::open(core->conn, o.name, o.replicas);
    if (!registry)
      return registry.error();
    core->remembered = std::move(*registry);
  }
  incarnation_ = make_uuid();
  core->reply_prefix = "_AETHER.reply." + o.name + "." + o.node_id + "."
                       + incarnation_.substr(0, 8) + ".";
  router = core->sys->spawn<cluster_router>(core);
  auto prefix_len = core->reply_prefix.size();
  auto r = router;
  auto replies = nats_subscription::subscribe(
    core->conn, core->reply_prefix + "*", "",
    [r, prefix_len](nats_message&& m) {
      auto req = std::strtoull(m.subject.c_str() + prefix_len, nullptr, 10);
      caf::anon_send(r, reply_atom::value, static_cast<uint64_t>(req),
                     std::move(m.data), m.no_responders);
    });
  if (!replies) {
    caf::anon_send_exit(router, caf::exit_reason::user_shutdown);
    return replies.error();
  }
  replies_ = std::move(*replies);
  if (auto err = register_member()) {
    caf::anon_send_exit(router, caf::exit_reason::user_shutdown);
    return err;
  }
  return caf::none;
}

caf::error cluster_node::check_shard_count() {
  auto n = core->opts.shard_count;
  auto want = "{\"shard_count\":" + std::to_string(n) + "}";
  auto cur = shards_->get("config");
  if (!cur)
    return cur.error();
  if (!*cur) {
    auto created = shards_->create("config", want);
    if (created)
      return caf::none;
    if (!is(created.error(), persistence_error::version_conflict))
      return created.error();
    cur = shards_->get("config");
    if (!cur)
      return cur.error();
  }
  if (*cur && (*cur)->value != want)
    return make_runtime_error(runtime_error::invalid_option,
                              "aether.cluster.shard-count (shard_count): "
                              "cluster \""
                                + core->opts.name + "\" has " + (*cur)->value
                                + ", this node " + want);
  return caf::none;
}

caf::error cluster_node::register_member() {
  std::string incarnation;
  {
    std::lock_guard<std::mutex> guard{hb_mtx_};
    incarnation = incarnation_;
  }
  member_record rec{core->opts.node_id, incarnation, core->opts.shard_count};
  auto sent = clock::now();
  auto rev = members_->put(core->opts.node_id, encode(rec));
  if (!rev)
    return rev.error();
  std::lock_guard<std::mutex> guard{hb_mtx_};
  member_rev_ = *rev;
  last_ok_ = sent;
  core->serving_until = ns(sent + core->opts.lease_ttl * 9 / 10);
  registered_ = true;
  return caf::none;
}

cluster_node::~cluster_node() {
  if (!done_)
    leave();
}

void cluster_node::log(const std::string& line) const {
  aether::log(log_level::warning, line,
              {{"cluster", core->opts.name}, {"node", core->opts.node_id}});
}

void cluster_node::loop() {
  for (;;) {
    {
      std::unique_lock<std::mutex> guard{mtx_};
      if (stop_)
        return;
    }
    if (lost_.exchange(false)) {
      // Our entry expired (this node was paused or cut off past the lease
      // TTL) or another process took our node id: our leases are void.
      lose_all();
      {
        std::lock_guard<std::mutex> guard{hb_mtx_};
        incarnation_ = make_uuid();
      }
      if (!register_member())
        log("joined again");
    } else if (!registered_ && register_member()) {
      core->metrics.renew_failures += 1;
    }
    if (registered_)
      rebalance();
    std::unique_lock<std::mutex> guard{mtx_};
    cv_.wait_for(guard, core->opts.poll_interval, [this] {
      return stop_;
    });
  }
}

void cluster_node::heartbeat_loop() {
  // A thread of its own: a slow claim or read of the control thread never
  // delays the heartbeat that keeps this node's leases.
  for (;;) {
    {
      std::unique_lock<std::mutex> guard{mtx_};
      cv_.wait_for(guard, core->opts.renew_interval, [this] {
        return stop_heartbeat_;
      });
      if (stop_heartbeat_)
        return;
    }
    if (registered_)
      heartbeat();
  }
}

void cluster_node::heartbeat() {
  std::string incarnation;
  uint64_t last = 0;
  {
    std::lock_guard<std::mutex> guard{hb_mtx_};
    incarnation = incarnation_;
    last = member_rev_;
  }
  member_record rec{core->opts.node_id, incarnation, core->opts.shard_count};
  auto sent = clock::now();
  auto rev = members_->update(core->opts.node_id, encode(rec), last);
  std::lock_guard<std::mutex> guard{hb_mtx_};
  if (incarnation != incarnation_)
    return; // the control thread joined again meanwhile
  if (rev) {
    member_rev_ = *rev;
    last_ok_ = sent;
    core->serving_until = ns(sent + core->opts.lease_ttl * 9 / 10);
    return;
  }
  if (is(rev.error(), persistence_error::version_conflict)) {
    log("lost its membership: " + describe(rev.error()));
    core->serving_until = 0;
    registered_ = false;
    lost_ = true;
    cv_.notify_all();
    return;
  }
  core->metrics.renew_failures += 1;
  if (last_ok_ + core->opts.renew_interval * 2 > sent)
    log("heartbeat failed: " + describe(rev.error()));
  if (!core->serving() && registered_) {
    // Other nodes may take its shards soon, or already did.
    log("no heartbeat for longer than the lease TTL: stops serving, drops "
        "its shards");
    registered_ = false;
    lost_ = true;
    cv_.notify_all();
  }
}

caf::expected<std::map<std::string, std::string>> cluster_node::read_members() {
  auto keys = members_->keys();
  if (!keys)
    return keys.error();
  std::map<std::string, std::string> live;
  for (auto& k : *keys) {
    auto e = members_->get(k);
    if (!e)
      return e.error();
    if (!*e)
      continue; // expired between the listing and the read
    auto rec = decode_member((*e)->value);
    if (!rec) {
      log("ignores member \"" + k + "\": " + describe(rec.error()));
      continue;
    }
    if (rec->shard_count != core->opts.shard_count) {
      log("ignores member \"" + k + "\": it has "
          + std::to_string(rec->shard_count) + " shards");
      continue;
    }
    live.emplace(rec->node, rec->incarnation);
  }
  return live;
}

void cluster_node::rebalance() {
  if (!core->serving())
    return;
  auto live = read_members();
  if (!live) {
    log("cannot read the members: " + describe(live.error()));
    return;
  }
  auto self = live->find(core->opts.node_id);
  if (self == live->end() || self->second != incarnation_)
    return; // the next heartbeat finds out what happened
  std::vector<std::string> names;
  for (auto& kv : *live)
    names.push_back(kv.first);
  {
    std::lock_guard<std::mutex> guard{core->mtx};
    core->members = names;
  }
  std::vector<uint32_t> give;
  bool nats_failed = false;
  for (uint32_t s = 0; s < core->opts.shard_count; ++s) {
    auto target = owner_of(s, names);
    if (owned_.count(s) > 0) {
      if (target != core->opts.node_id)
        give.push_back(s);
    } else if (target == core->opts.node_id && !nats_failed) {
      // NATS does not answer: the rest waits for the next poll.
      nats_failed = !claim(s, *live);
    }
  }
  for (auto& kv : failovers_this_poll_)
    log("took over " + std::to_string(kv.second) + " shards of node \""
        + kv.first + "\" (gone)");
  failovers_this_poll_.clear();
  if (!give.empty())
    hand_over(give, false, true);
  if (!lingering_.empty())
    close_lingering(false);
  verify_leases();
  publish_owned();
}

void cluster_node::verify_leases() {
  // A few owned shards per poll, in turn: each lease must still name this
  // node and incarnation. Claims check the holder's membership, so this
  // never finds anything unless something went wrong; then the shard is
  // dropped at once (not released: it is not ours).
  constexpr size_t per_poll = 16;
  std::vector<uint32_t> lost;
  auto i = owned_.lower_bound(verify_next_);
  auto count = std::min(per_poll, owned_.size());
  for (size_t n = 0; n < count; ++n) {
    if (i == owned_.end())
      i = owned_.begin();
    auto shard = i->first;
    ++i;
    verify_next_ = i == owned_.end() ? 0 : i->first;
    auto cur = shards_->get(lease_key(shard));
    if (!cur)
      break; // NATS does not answer: the heartbeat decides
    bool mine = false;
    if (*cur) {
      auto lease = decode_lease((**cur).value);
      mine = lease && lease->node == core->opts.node_id
             && lease->incarnation == incarnation_;
    }
    if (!mine)
      lost.push_back(shard);
  }
  if (lost.empty())
    return;
  log("drops " + std::to_string(lost.size())
      + " shards whose lease no longer names it");
  core->metrics.leases_lost += lost.size();
  hand_over(lost, true, false);
}

bool cluster_node::claim(uint32_t shard,
                         const std::map<std::string, std::string>& live) {
  auto key = lease_key(shard);
  auto cur = shards_->get(key);
  if (!cur)
    return false;
  shard_lease next{core->opts.node_id, incarnation_, 1};
  bool failover = false;
  std::string previous;
  caf::expected<uint64_t> rev = uint64_t{0};
  if (!*cur) {
    rev = shards_->create(key, encode(next));
  } else {
    auto held = decode_lease((*cur)->value);
    if (held) {
      next.epoch = held->epoch + 1;
      if (!held->node.empty()) {
        auto holder = live.find(held->node);
        bool valid = holder != live.end()
                     && holder->second == held->incarnation;
        if (!valid && held->node != core->opts.node_id) {
          // Our view of the members is a moment old: a node that joined
          // since (and claimed) is not in it. A holder registers before it
          // claims, so its member entry, read now, says whether it lives.
          auto entry = members_->get(held->node);
          if (!entry)
            return false; // cannot tell: not now
          if (*entry) {
            auto rec = decode_member((*entry)->value);
            valid = rec && rec->incarnation == held->incarnation;
          }
        }
        if (valid && held->node != core->opts.node_id)
          return true; // a live node holds it: it hands it over when it sees us
        failover = !valid;
        previous = held->node;
      }
    } else {
      log("overwrites the malformed lease of shard " + std::to_string(shard)
          + ": " + describe(held.error()));
    }
    rev = shards_->update(key, encode(next), (*cur)->revision);
  }
  if (!rev) // somebody else was faster (go on), or NATS failed (stop)
    return is(rev.error(), persistence_error::version_conflict);
  auto again = lingering_.find(shard);
  if (again != lingering_.end()) {
    auto sub = std::move(again->second.sub);
    lingering_.erase(again);
    owned_[shard] = owned_shard{*rev, next.epoch, std::move(sub)};
    core->metrics.claims += 1;
    core->metrics.shards_owned += 1;
    caf::anon_send(router, own_atom::value, shard);
    recall(shard);
    return true;
  }
  auto sub = nats_subscription::subscribe(
    core->conn, core->shard_subject(shard), core->queue,
    [r = router](nats_message&& m) {
      caf::anon_send(r, remote_atom::value, std::move(m.reply),
                     std::move(m.data));
    });
  if (!sub) {
    log("cannot serve shard " + std::to_string(shard) + ": "
        + describe(sub.error()));
    shard_lease free{"", "", next.epoch};
    shards_->update(key, encode(free), *rev);
    return false;
  }
  owned_[shard] = owned_shard{*rev, next.epoch, std::move(*sub)};
  core->metrics.claims += 1;
  core->metrics.shards_owned += 1;
  if (failover) {
    core->metrics.failovers += 1;
    failovers_this_poll_[previous] += 1;
  }
  caf::anon_send(router, own_atom::value, shard);
  recall(shard);
  return true;
}

void cluster_node::recall(uint32_t shard) {
  if (!core->remembered)
    return;
  auto names = core->remembered->recall(shard);
  if (!names) {
    log("cannot read the remembered entities of shard " + std::to_string(shard)
        + " (they start at their next message): " + describe(names.error()));
    return;
  }
  if (names->empty())
    return;
  std::vector<std::string> types;
  std::vector<std::string> ids;
  for (auto& [type, id] : *names) {
    types.push_back(type);
    ids.push_back(id);
  }
  caf::anon_send(router, recall_atom::value, shard, std::move(types),
                 std::move(ids));
}

void cluster_node::hand_over(const std::vector<uint32_t>& shards, bool kill,
                             bool release) {
  if (kill) {
    // Not ours any more: stop taking requests at once. All subscriptions
    // drain together; the wait is bounded for all of them.
    for (auto s : shards) {
      auto i = owned_.find(s);
      if (i != owned_.end() && i->second.sub)
        i->second.sub->begin_close();
    }
    auto drained = clock::now() + std::chrono::seconds{5};
    for (auto s : shards) {
      auto i = owned_.find(s);
      if (i != owned_.end() && i->second.sub)
        i->second.sub->close(drained);
    }
  }
  // The router stops serving the shards (requests that still arrive get
  // "not owner" and go again) and passivates (or kills) their entities.
  auto job = std::make_shared<handoff_job>();
  job->shards = shards;
  job->kill = kill;
  auto done = job->done.get_future();
  caf::anon_send(router, release_atom::value, job);
  if (done.wait_for(core->opts.handoff_timeout) != std::future_status::ready
      && !kill) {
    log("entities of " + std::to_string(shards.size())
        + " shards did not stop within the hand-over timeout: killed");
    auto again = std::make_shared<handoff_job>();
    again->shards = shards;
    again->kill = true;
    auto killed = again->done.get_future();
    caf::anon_send(router, release_atom::value, again);
    killed.wait_for(core->opts.handoff_timeout);
  }
  // The next owner reads the remembered entities right after its claim:
  // what the stopped entities' starts queued is written first.
  if (release && core->remembered
      && !core->remembered->flush(clock::now() + core->opts.handoff_timeout))
    log("remembered entities not written within the hand-over timeout");
  for (auto s : shards) {
    auto i = owned_.find(s);
    if (i == owned_.end())
      continue;
    if (release) {
      shard_lease free{"", "", i->second.epoch};
      auto done = shards_->update(lease_key(s), encode(free),
                                  i->second.revision);
      if (done) {
        core->metrics.releases += 1;
      } else if (!is(done.error(), persistence_error::version_conflict)) {
        // NATS does not answer: the leases end with this node's heartbeat
        // (lease TTL) instead of waiting a request timeout per shard.
        log("cannot release shard " + std::to_string(s) + ": "
            + describe(done.error()) + "; the rest expire with the heartbeat");
        release = false;
      }
    }
    if (!kill && i->second.sub)
      // Keeps answering "not owner" until the next owner subscribed: a
      // request the NATS servers still route here goes again instead of
      // being dropped by an unsubscribed node.
      lingering_[s] = lingering{std::move(i->second.sub), clock::now()};
    owned_.erase(i);
    core->metrics.shards_owned -= 1;
  }
  publish_owned();
}

void cluster_node::close_lingering(bool all) {
  std::vector<uint32_t> done;
  for (auto& kv : lingering_) {
    bool close = all
                 || clock::now() - kv.second.since > core->opts.handoff_timeout;
    if (!close) {
      auto cur = shards_->get(lease_key(kv.first));
      if (cur && *cur) {
        auto lease = decode_lease((*cur)->value);
        close = lease && !lease->node.empty()
                && lease->node != core->opts.node_id;
      }
      // The next owner subscribes right after its claim: give it a poll.
      if (close && clock::now() - kv.second.since < core->opts.poll_interval)
        close = false;
    }
    if (close) {
      kv.second.sub->begin_close();
      done.push_back(kv.first);
    }
  }
  auto deadline = clock::now() + std::chrono::seconds{5};
  for (auto s : done) {
    lingering_[s].sub->close(deadline);
    lingering_.erase(s);
  }
}

void cluster_node::lose_all() {
  std::vector<uint32_t> all;
  for (auto& kv : owned_)
    all.push_back(kv.first);
  core->serving_until = 0;
  close_lingering(true);
  if (all.empty())
    return;
  core->metrics.leases_lost += all.size();
  hand_over(all, true, false);
}

void cluster_node::publish_owned() {
  std::vector<uint32_t> owned;
  for (auto& kv : owned_)
    owned.push_back(kv.first);
  std::lock_guard<std::mutex> guard{core->mtx};
  core->owned = std::move(owned);
}

void cluster_node::stop_thread() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable())
    thread_.join();
}

void cluster_node::stop_heartbeat() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stop_heartbeat_ = true;
  }
  cv_.notify_all();
  if (heartbeat_thread_.joinable())
    heartbeat_thread_.join();
}

caf::error cluster_node::leave() {
  if (done_)
    return caf::none;
  done_ = true;
  stop_thread();
  std::vector<uint32_t> all;
  for (auto& kv : owned_)
    all.push_back(kv.first);
  // The heartbeat goes on while the entities passivate: the leases must
  // not expire under them.
  if (!all.empty())
    hand_over(all, false, true);
  stop_heartbeat();
  caf::error err;
  if (registered_) {
    // Gone at once, not after the TTL.
    err = members_->remove(core->opts.node_id);
  }
  core->serving_until = 0;
  // Answers "not owner" until the other nodes took the shards over (if
  // there are other nodes).
  auto others = read_members();
  if (others
      && (others->empty()
          || (others->size() == 1 && others->count(core->opts.node_id) == 1)))
    close_lingering(true);
  auto deadline = clock::now() + core->opts.handoff_timeout;
  while (!lingering_.empty() && clock::now() < deadline) {
    close_lingering(false);
    if (!lingering_.empty())
      std::this_thread::sleep_for(core->opts.poll_interval / 2);
  }
  close_lingering(true);
  replies_.reset();
  stop_router(caf::exit_reason::user_shutdown);
  if (core->remembered)
    core->remembered->stop();
  return err;
}

void cluster_node::crash() {
  if (done_)
    return;
  done_ = true;
  stop_thread();
  stop_heartbeat();
  core->serving_until = 0;
  for (auto& kv : owned_)
    if (kv.second.sub)
      kv.second.sub->begin_close();
  auto drained = clock::now() + std::chrono::seconds{5};
  for (auto& kv : owned_)
    if (kv.second.sub)
      kv.second.sub->close(drained);
  for (auto& kv : lingering_)
    kv.second.sub->begin_close();
  for (auto& kv : lingering_)
    kv.second.sub->close(drained);
  lingering_.clear();
  owned_.clear();
  core->metrics.shards_owned = 0;
  publish_owned();
  replies_.reset();
  // Dropped like the rest of a crashed process: changes not yet written.
  if (core->remembered)
    core->remembered->stop();
  stop_router(caf::exit_reason::kill);
}

void cluster_node::stop_router(caf::exit_reason reason) {
  caf::scoped_actor self{*core->sys};
  self->send_exit(router, reason);
  self->wait_for(router);
}

} // namespace aether
