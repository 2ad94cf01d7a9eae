#include "cluster_router.hpp"

#include "aether/cluster/placement.hpp"
#include "aether/core/error.hpp"
#include "aether/persistence/validation.hpp"
#include "aether/runtime/actor_registry.hpp"
#include "aether/runtime/any_response.hpp"
#include "aether/runtime/persistent_actor_base.hpp"
#include "aether/runtime/runtime_error.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/sec.hpp>
#include <caf/send.hpp>

namespace aether {

namespace {

caf::error unavailable(const std::string& what) {
  return make_persistence_error(persistence_error::unavailable, what);
}

bool is_error_answer(const caf::message& m) {
  return m.size() == 1 && m.match_element<caf::error>(0);
}

} // namespace

cluster_router::cluster_router(caf::actor_config& cfg,
                               std::shared_ptr<cluster_core> core)
  : caf::event_based_actor(cfg), core_(std::move(core)) {
  // nop
}

caf::behavior cluster_router::make_behavior() {
  set_down_handler([this](caf::down_msg& dm) {
    entity_down(dm.source, dm.reason);
  });
  tick_later();
  return {
    [this](route_atom, std::string& type, std::string& id,
           caf::message& content) -> caf::result<caf::message> {
      if (auto err = check(type, id)) {
        core_->metrics.invalid += 1;
        return err;
      }
      auto req = ++next_req_;
      auto rp = make_response_promise();
      auto& p = pending_[req];
      p.rp = rp;
      p.shard = shard_of(type, id, core_->opts.shard_count);
      p.type = std::move(type);
      p.id = std::move(id);
      p.content = std::move(content);
      p.start = clock::now();
      p.deadline = p.start + core_->opts.unavailable_timeout;
      // `p` may be gone after this: dispatch can answer at once (and erase
      // it), e.g. for a message that cannot be serialized.
      dispatch(req);
      return rp;
    },
    [this](remote_atom, const std::string& reply, const std::string& frame) {
      serve_remote(reply, frame);
    },
    [this](reply_atom, uint64_t req, const std::string& frame,
           bool no_responders) {
      auto i = pending_.find(req);
      if (i == pending_.end())
        return; // answered already (timeout), or a stray reply
      auto& p = i->second;
      if (p.waiting)
        return; // not from a send in flight
      if (no_responders) {
        retry_later(req, p);
        return;
      }
      auto r = decode_reply(*core_->sys, frame);
      if (!r) {
        finish(req, caf::make_message(make_persistence_error(
                      persistence_error::unknown_outcome,
                      "shard " + std::to_string(p.shard)
                        + ": the owner's answer is unreadable; the request "
                          "may have run: "
                        + describe(r.error()))));
        return;
      }
      if (r->status == reply_status::not_owner) {
        retry_later(req, p);
        return;
      }
      core_->metrics.routed_remote += 1;
      core_->metrics.remote_latency.record(clock::now() - p.start);
      finish(req, r->status == reply_status::ok
                    ? std::move(r->content)
                    : caf::make_message(std::move(r->err)));
    },
    [this](retry_atom, uint64_t req, uint64_t seq) {
      auto i = pending_.find(req);
      if (i == pending_.end() || !i->second.waiting
          || i->second.send_seq != seq)
        return; // sent again already (the shard became ready here)
      i->second.waiting = false;
      dispatch(req);
    },
    [this](expire_atom, uint64_t req, uint64_t seq) {
      auto i = pending_.find(req);
      if (i == pending_.end() || i->second.waiting || i->second.send_seq != seq)
        return;
      core_->metrics.timeouts += 1;
      finish(req,
             caf::make_message(make_persistence_error(
               persistence_error::unknown_outcome,
               "entity \"" + i->second.type + "/" + i->second.id + "\" (shard "
                 + std::to_string(i->second.shard) + ") did not answer within "
                 + std::to_string(core_->opts.request_timeout.count())
                 + " ms; the request may or may not have run")));
    },
    [this](own_atom, uint32_t shard) {
      ready_.insert(shard);
      // Requests waiting for this shard go now, not at their next retry.
      // Only those not in flight: a request sent to the shard's subject
      // before may reach this node's new subscription and run here.
      std::vector<uint64_t> waiting;
      for (auto& kv : pending_)
        if (kv.second.shard == shard && kv.second.waiting)
          waiting.push_back(kv.first);
      for (auto req : waiting) {
        auto& p = pending_.at(req);
        p.waiting = false;
        ++p.send_seq; // its retry timer is void now
        dispatch(req);
      }
    },
    [this](release_atom, const handoff_ptr& job) {
      release(job);
    },
    [this](recall_atom, uint32_t shard, const std::vector<std::string>& types,
           const std::vector<std::string>& ids) {
      recall(shard, types, ids);
    },
    [this](registry_options_atom, const passivation_options& opts) {
      // Only this actor reads `opts.passivation`.
      core_->opts.passivation = opts;
      tick_later();
      enforce_limits();
    },
    [this](passivation_kill_atom, const caf::actor_addr& who) {
      // Passivated and still running after `stop_timeout` (it ignores
      // passivate_atom): killed, so the requests held for it go on.
      auto i = names_.find(who);
      if (i == names_.end())
        return;
      auto e = entities_.find(i->second);
      if (e == entities_.end() || !e->second.passivating)
        return;
      core_->metrics.activations.passivation_kills += 1;
      caf::anon_send_exit(e->second.handle, caf::exit_reason::kill);
    },
    [this](passivation_tick_atom) {
      ticking_ = false;
      enforce_limits();
      tick_later();
    },
  };
}

void cluster_router::tick_later() {
  auto& o = core_->opts.passivation;
  if (ticking_ || o.idle_timeout.count() == 0)
    return;
  ticking_ = true;
  delayed_send(this, o.effective_check_interval(),
               passivation_tick_atom::value);
}

void cluster_router::enforce_limits() {
  auto& o = core_->opts.passivation;
  auto victims = table_.select(clock().now(), o);
  for (auto& v : victims) {
    auto& e = entities_.at(v.id);
    table_.mark_passivating(v.id);
    e.passivating = true;
    core_->metrics.activations.passivated(v.cause);
    // Behind the requests already sent to it: they run first.
    caf::anon_send(e.handle, passivate_atom::value, o.snapshot);
    delayed_send(this, o.stop_timeout, passivation_kill_atom::value,
                 e.handle.address());
  }
  core_->metrics.activations.set_active(table_.active());
  core_->metrics.activations.state_bytes = table_.bytes();
}

bool cluster_router::hold_if_passivating(const std::string& name,
                                         std::function<void()> later) {
  auto i = entities_.find(name);
  if (i == entities_.end() || !i->second.passivating)
    return false;
  i->second.held.push_back(std::move(later));
  core_->metrics.activations.messages_held += 1;
  return true;
}

void cluster_router::on_exit() {
  for (auto& kv : entities_) {
    caf::anon_send_exit(kv.second.handle, caf::exit_reason::kill);
    core_->metrics.activations.messages_held -= kv.second.held.size();
  }
  entities_.clear();
  core_->metrics.activations.set_active(0);
  core_->metrics.activations.state_bytes = 0;
  for (auto& h : handoffs_)
    h.first->done.set_value();
  handoffs_.clear();
  for (auto& kv : pending_) {
    auto where = "entity \"" + kv.second.type + "/" + kv.second.id
                 + "\" (shard " + std::to_string(kv.second.shard) + ")";
    // A request sent and not answered may have run; one waiting to be sent
    // again did not.
    kv.second.rp.deliver(
      kv.second.waiting
        ? unavailable(where
                      + ": the cluster node stopped before an owner "
                        "took the request")
        : make_persistence_error(persistence_error::unknown_outcome,
                                 where
                                   + ": the cluster node stopped while the "
                                     "request was out; it may or may not "
                                     "have run"));
  }
  pending_.clear();
  {
    std::lock_guard<std::mutex> guard{core_->mtx};
    core_->active.clear();
  }
  core_->metrics.entities_active = 0;
  core_->metrics.buffered -= static_cast<int64_t>(buffered_);
  buffered_ = 0;
}

caf::error cluster_router::check(const std::string& type,
                                 const std::string& id) const {
  if (core_->types.count(type) == 0) {
    std::string known;
    for (auto& kv : core_->types)
      known += (known.empty() ? "" : ", ") + kv.first;
    return make_persistence_error(
      persistence_error::invalid_argument,
      "entity type \"" + type + "\": not registered (known: " + known + ")");
  }
  return validate_actor_id(id);
}

bool cluster_router::ready(uint32_t shard) const {
  return ready_.count(shard) > 0 && core_->serving();
}

void cluster_router::dispatch(uint64_t req) {
  auto& p = pending_.at(req);
  if (!ready(p.shard)) {
    send_remote(req, p);
    return;
  }
  auto name = p.type + "/" + p.id;
  if (hold_if_passivating(name, [this, req] {
        if (pending_.count(req) > 0)
          dispatch(req);
      }))
    return;
  auto e = entity_for(p.type, p.id, p.shard);
  if (!e) {
    finish(req, caf::make_message(e.error()));
    return;
  }
  auto seq = ++p.send_seq;
  ask_entity(
    name, *e, p.content,
    [this, req](caf::message& answer) {
      auto i = pending_.find(req);
      if (i == pending_.end())
        return;
      core_->metrics.routed_local += 1;
      core_->metrics.local_latency.record(clock::now() - i->second.start);
      finish(req, std::move(answer));
    },
    [this, req] {
      auto i = pending_.find(req);
      if (i != pending_.end())
        retry_later(req, i->second);
    });
  delayed_send(this, core_->opts.request_timeout, expire_atom::value, req, seq);
}

void cluster_router::send_remote(uint64_t req, pending& p) {
  if (p.frame.empty()) {
    auto frame = encode_request(*core_->sys, p.type, p.id, p.content);
    if (!frame) {
      core_->metrics.invalid += 1;
      finish(req, caf::make_message(frame.error()));
      return;
    }
    p.frame = std::move(*frame);
  }
  auto err = core_->conn->publish(core_->shard_subject(p.shard), p.frame,
                                  core_->reply_prefix + std::to_string(req));
  if (err) {
    // Not handed to the connection (disconnected): nothing ran; try again.
    retry_later(req, p);
    return;
  }
  auto seq = ++p.send_seq;
  delayed_send(this, core_->opts.request_timeout, expire_atom::value, req, seq);
}

void cluster_router::retry_later(uint64_t req, pending& p) {
  auto now = clock::now();
  if (now >= p.deadline) {
    core_->metrics.refused += 1;
    finish(req, caf::make_message(unavailable(
                  "shard " + std::to_string(p.shard) + " of cluster \""
                  + core_->opts.name + "\" had no ready owner for "
                  + std::to_string(core_->opts.unavailable_timeout.count())
                  + " ms (entity \"" + p.type + "/" + p.id + "\")")));
    return;
  }
  if (!p.buffered) {
    if (buffered_ >= core_->opts.buffer_size) {
      core_->metrics.refused += 1;
      finish(req,
             caf::make_message(unavailable(
               "shard " + std::to_string(p.shard)
               + " has no ready owner and the buffer is full ("
               + std::to_string(core_->opts.buffer_size) + " requests wait)")));
      return;
    }
    p.buffered = true;
    ++buffered_;
    core_->metrics.buffered += 1;
  }
  p.waiting = true;
  // Voids the timeout of the send that came back undelivered.
  auto seq = ++p.send_seq;
  auto delay = std::chrono::milliseconds{10} * (1u << std::min(p.attempts, 5u));
  p.attempts += 1;
  core_->metrics.retries += 1;
  delayed_send(this, delay, retry_atom::value, req, seq);
}

void cluster_router::finish(uint64_t req, caf::message answer) {
  auto i = pending_.find(req);
  if (i == pending_.end())
    return;
  if (i->second.buffered) {
    --buffered_;
    core_->metrics.buffered -= 1;
  }
  auto rp = std::move(i->second.rp);
  pending_.erase(i);
  rp.deliver(std::move(answer));
}

caf::expected<caf::actor>
cluster_router::entity_for(const std::string& type, const std::string& id,
                           uint32_t shard, bool recalled) {
  auto name = type + "/" + id;
  auto i = entities_.find(name);
  if (i != entities_.end())
    return i->second.handle;
  caf::actor a;
  try {
    a = core_->types.at(type)(*core_->sys, id);
  } catch (...) {
    return make_user_code_error("the factory of entity type \"" + type
                                  + "\" for \"" + id + "\"",
                                std::current_exception());
  }
  if (!a)
    return make_runtime_error(runtime_error::user_code_failed,
                              "the factory of entity type \"" + type
                                + "\" returned no actor for \"" + id + "\"");
  monitor(a);
  names_.emplace(a.address(), name);
  auto* persistent = dynamic_cast<const persistent_actor_base*>(
    caf::actor_cast<caf::abstract_actor*>(a));
  entities_.emplace(name,
                    entity{a, shard, name, type, id, persistent, false, {}});
  table_.add(name, clock().now());
  core_->metrics.activations.activations += 1;
  core_->metrics.activations.set_active(table_.active());
  core_->metrics.entities_active += 1;
  {
    std::lock_guard<std::mutex> guard{core_->mtx};
    core_->active.insert(name);
  }
  if (core_->remembered && !recalled)
    core_->remembered->remember(shard, {type, id});
  return a;
}

void cluster_router::recall(uint32_t shard,
                            const std::vector<std::string>& types,
                            const std::vector<std::string>& ids) {
  if (ready_.count(shard) == 0 || types.size() != ids.size())
    return; // handed over again already
  for (size_t i = 0; i < types.size(); ++i) {
    // A type this node does not run, or an id that is not valid: skipped
    // (and forgotten, not to be read again at every claim).
    if (check(types[i], ids[i])) {
      core_->remembered->forget(shard, {types[i], ids[i]});
      continue;
    }
    if (entities_.count(types[i] + "/" + ids[i]) > 0)
      continue; // a request started it first
    if (entity_for(types[i], ids[i], shard, true))
      core_->metrics.remembered_started += 1;
  }
}

void cluster_router::ask_entity(const std::string& name, const caf::actor& e,
                                caf::message content,
                                std::function<void(caf::message&)> done,
                                std::function<void()> retry) {
  table_.begin(name, clock().now());
  auto hdl = request(e, caf::infinite, std::move(content));
  auto from = e.address();
  add_multiplexed_response_handler(
    hdl.id(),
    any_response::make([this, name, from, done, retry](caf::message& answer) {
      auto i = entities_.find(name);
      bool current = i != entities_.end() && i->second.handle.address() == from;
      if (current) {
        table_.end(name, clock().now());
        if (auto* p = i->second.persistent)
          table_.set_bytes(name, p->state_bytes());
      }
      if (never_ran(answer))
        retry();
      else
        done(answer);
      if (current)
        enforce_limits();
    }));
}

void cluster_router::serve_remote(const std::string& reply,
                                  const std::string& frame) {
  auto r = decode_request(*core_->sys, frame);
  if (!r) {
    core_->metrics.invalid += 1;
    answer_remote_status(reply, reply_status::error, r.error());
    return;
  }
  if (auto err = check(r->type, r->id)) {
    core_->metrics.invalid += 1;
    answer_remote_status(reply, reply_status::error, err);
    return;
  }
  auto shard = shard_of(r->type, r->id, core_->opts.shard_count);
  if (!ready(shard)) {
    answer_remote_status(reply, reply_status::not_owner,
                         unavailable("node \"" + core_->opts.node_id
                                     + "\" does not own shard "
                                     + std::to_string(shard)));
    return;
  }
  auto name = r->type + "/" + r->id;
  if (hold_if_passivating(name, [this, reply, frame] {
        serve_remote(reply, frame);
      }))
    return;
  auto e = entity_for(r->type, r->id, shard);
  if (!e) {
    answer_remote_status(reply, reply_status::error, e.error());
    return;
  }
  core_->metrics.served_remote += 1;
  ask_entity(
    name, *e, std::move(r->content),
    [this, reply](caf::message& answer) {
      answer_remote(reply, std::move(answer));
    },
    [this, reply, shard] {
      answer_remote_status(
        reply, reply_status::not_owner,
        unavailable("shard " + std::to_string(shard) + " is moving"));
    });
}

void cluster_router::answer_remote(const std::string& reply,
                                   caf::message answer) {
  if (reply.empty())
    return;
  routed_reply r;
  if (is_error_answer(answer)) {
    r.status = reply_status::error;
    r.err = answer.get_as<caf::error>(0);
  } else {
    r.content = std::move(answer);
  }
  core_->conn->publish(reply, encode_reply(*core_->sys, r));
}

void cluster_router::answer_remote_status(const std::string& reply,
                                          reply_status status, caf::error err) {
  if (reply.empty())
    return;
  routed_reply r;
  r.status = status;
  r.err = std::move(err);
  core_->conn->publish(reply, encode_reply(*core_->sys, r));
}

void cluster_router::release(const handoff_ptr& job) {
  std::unordered_set<uint32_t> shards{job->shards.begin(), job->shards.end()};
  for (auto s : shards)
    ready_.erase(s);
  std::unordered_set<caf::actor_addr> waiting;
  for (auto& kv : entities_) {
    if (shards.count(kv.second.shard) == 0)
      continue;
    waiting.insert(kv.second.handle.address());
    if (job->kill)
      caf::anon_send_exit(kv.second.handle, caf::exit_reason::kill);
    else if (!kv.second.passivating)
      // Behind the requests already sent to it: they run first.
      caf::anon_send(kv.second.handle, passivate_atom::value);
  }
  if (waiting.empty())
    job->done.set_value();
  else
    handoffs_.emplace_back(job, std::move(waiting));
}

void cluster_router::entity_down(const caf::actor_addr& who,
                                 const caf::error& reason) {
  auto i = names_.find(who);
  if (i == names_.end())
    return;
  auto e = entities_.find(i->second);
  // Stopped on its own (not for a hand-over: its shard is still served
  // here; not failed): forgotten.
  if (core_->remembered && e != entities_.end()
      && reason == caf::exit_reason::normal
      && ready_.count(e->second.shard) > 0) {
    core_->remembered->forget(e->second.shard, {e->second.type, e->second.id});
  }
  {
    std::lock_guard<std::mutex> guard{core_->mtx};
    core_->active.erase(i->second);
  }
  // What waited for it runs now, in order (starting it again here, or
  // going to the shard's new owner after a hand-over).
  std::vector<std::function<void()>> held;
  if (e != entities_.end())
    held = std::move(e->second.held);
  table_.remove(i->second);
  entities_.erase(i->second);
  names_.erase(i);
  core_->metrics.entities_active -= 1;
  core_->metrics.activations.messages_held -= held.size();
  core_->metrics.activations.set_active(table_.active());
  core_->metrics.activations.state_bytes = table_.bytes();
  for (auto h = handoffs_.begin(); h != handoffs_.end();) {
    h->second.erase(who);
    if (h->second.empty()) {
      h->first->done.set_value();
      h = handoffs_.erase(h);
    } else {
      ++h;
    }
  }
  for (auto& later : held)
    later();
}

} // namespace aether
