#include "registry_actor.hpp"

#include "aether/persistence/validation.hpp"
#include "aether/runtime/any_response.hpp"
#include "aether/runtime/persistent_actor_base.hpp"
#include "aether/runtime/runtime_error.hpp"

#include <algorithm>
#include <caf/actor_cast.hpp>
#include <caf/sec.hpp>
#include <caf/send.hpp>
#include <exception>

namespace aether {

namespace {

using tick_atom = caf::atom_constant<caf::atom("ae_rtick")>;
using kill_atom = caf::atom_constant<caf::atom("ae_rkill")>;

} // namespace

registry_actor::registry_actor(caf::actor_config& cfg,
                               activation_factory factory,
                               passivation_options opts,
                               std::shared_ptr<activation_metrics> metrics)
  : caf::event_based_actor(cfg), factory_(std::move(factory)), opts_(opts),
    metrics_(std::move(metrics)) {
  // nop
}

caf::behavior registry_actor::make_behavior() {
  set_down_handler([this](caf::down_msg& dm) {
    stopped(dm.source);
  });
  tick_later();
  return {
    [this](ask_atom, const std::string& id,
           caf::message& content) -> caf::result<caf::message> {
      if (auto err = validate_actor_id(id))
        return err;
      auto rp = make_response_promise();
      ask(id, std::move(content), rp);
      return rp;
    },
    [this](registry_options_atom, const passivation_options& opts) {
      opts_ = opts;
      tick_later();
      enforce();
      admit();
    },
    [this](registry_active_atom) {
      auto ids = table_.active_ids();
      std::sort(ids.begin(), ids.end());
      return ids;
    },
    [this](tick_atom) {
      ticking_ = false;
      enforce();
      tick_later();
    },
    [this](kill_atom, const caf::actor_addr& who) {
      auto i = names_.find(who);
      if (i == names_.end())
        return; // stopped in time
      auto& s = slots_.at(i->second);
      metrics_->passivation_kills += 1;
      caf::anon_send_exit(s.handle, caf::exit_reason::kill);
    },
  };
}

void registry_actor::tick_later() {
  if (ticking_ || opts_.idle_timeout.count() == 0)
    return;
  ticking_ = true;
  delayed_send(this, opts_.effective_check_interval(), tick_atom::value);
}

void registry_actor::on_exit() {
  for (auto& kv : slots_) {
    auto& s = kv.second;
    // Persistent actors passivate (a snapshot first); others, which may
    // not know passivate_atom, get an exit message.
    if (s.waiting || !s.handle) {
      // never started
    } else if (s.persistent != nullptr && !s.stopping) {
      caf::anon_send(s.handle, passivate_atom::value, opts_.snapshot);
    } else if (s.persistent == nullptr) {
      caf::anon_send_exit(s.handle, caf::exit_reason::user_shutdown);
    }
    for (auto& h : s.held)
      h.rp.deliver(
        make_runtime_error(runtime_error::actor_stopped,
                           "actor \"" + kv.first + "\": the registry stopped"));
  }
  // Requests out at the actors: their answers would reach a stopped
  // registry.
  for (auto& kv : forwarded_)
    kv.second.deliver(make_runtime_error(runtime_error::actor_stopped,
                                         "the registry stopped before the "
                                         "actor answered; the request may "
                                         "or may not have run"));
  forwarded_.clear();
  slots_.clear();
  names_.clear();
  queue_.clear();
  held_ = 0;
  metrics_->active = 0;
  metrics_->state_bytes = 0;
  metrics_->messages_held = 0;
}

void registry_actor::ask(const std::string& id, caf::message content,
                         caf::response_promise rp) {
  auto [i, fresh] = slots_.try_emplace(id);
  auto& s = i->second;
  if (fresh) {
    if (!queue_.empty() || !make_room()) {
      s.waiting = true;
      queue_.push_back(id);
      hold(s, std::move(rp), std::move(content), false);
      return;
    }
    if (auto err = activate(id, s)) {
      slots_.erase(i);
      rp.deliver(err);
      return;
    }
  }
  if (s.stopping || s.waiting) {
    hold(s, std::move(rp), std::move(content), false);
    return;
  }
  forward(id, s, std::move(content), std::move(rp));
  if (fresh)
    enforce();
}

bool registry_actor::make_room() {
  auto limit = opts_.max_active;
  if (limit == 0 || table_.active() < limit)
    return true;
  auto excess = table_.active() - limit + 1;
  for (auto& id : table_.least_recent(excess))
    passivate(id, slots_.at(id), passivation_cause::count_limit);
  update_gauges();
  return table_.active() < limit;
}

void registry_actor::admit() {
  while (!queue_.empty() && make_room()) {
    auto id = std::move(queue_.front());
    queue_.pop_front();
    auto& s = slots_.at(id);
    s.waiting = false;
    auto waiting = std::move(s.held);
    s.held.clear();
    s.bounced = 0;
    held_ -= waiting.size();
    metrics_->messages_held = held_;
    if (auto err = activate(id, s)) {
      slots_.erase(id);
      for (auto& h : waiting)
        h.rp.deliver(err);
      continue;
    }
    for (auto& h : waiting)
      forward(id, s, std::move(h.content), std::move(h.rp));
  }
}

caf::error registry_actor::activate(const std::string& id, slot& s) {
  caf::actor a;
  try {
    a = factory_(home_system(), id);
  } catch (...) {
    return make_user_code_error("the activation factory for \"" + id + "\"",
                                std::current_exception());
  }
  if (!a)
    return make_runtime_error(runtime_error::user_code_failed,
                              "the activation factory returned no actor for \""
                                + id + "\"");
  monitor(a);
  names_[a.address()] = id;
  s.persistent = dynamic_cast<const persistent_actor_base*>(
    caf::actor_cast<caf::abstract_actor*>(a));
  s.handle = std::move(a);
  s.stopping = false;
  table_.add(id, clock().now());
  metrics_->activations += 1;
  update_gauges();
  return caf::none;
}

void registry_actor::forward(const std::string& id, slot& s,
                             caf::message content, caf::response_promise rp) {
  table_.begin(id, clock().now());
  auto from = s.handle.address();
  auto key = ++next_forward_;
  forwarded_.emplace(key, std::move(rp));
  auto hdl = request(s.handle, caf::infinite, content);
  add_multiplexed_response_handler(
    hdl.id(),
    any_response::make([this, id, from, key, content{std::move(content)}](
                         caf::message& answer) mutable {
      answered(id, from, answer, content, key);
    }));
}

void registry_actor::answered(const std::string& id,
                              const caf::actor_addr& from, caf::message& answer,
                              caf::message& content, uint64_t key) {
  auto f = forwarded_.find(key);
  if (f == forwarded_.end())
    return; // answered already (the registry is stopping)
  auto rp = std::move(f->second);
  forwarded_.erase(f);
  auto i = slots_.find(id);
  bool current = i != slots_.end() && i->second.handle.address() == from;
  if (current) {
    table_.end(id, clock().now());
    if (auto* p = i->second.persistent)
      table_.set_bytes(id, p->state_bytes());
    update_gauges();
  }
  if (never_ran(answer)) {
    // The actor stopped before it took the message (it quit on its own, or
    // failed): the message goes to its next activation, before the ones
    // that arrived after it.
    if (current) {
      auto& s = i->second;
      if (!s.stopping) {
        // Normally the actor is gone and its down message follows. Should
        // it be alive (it answered this error itself), it is passivated,
        // so the held messages never wait forever.
        s.stopping = true;
        caf::anon_send(s.handle, passivate_atom::value, opts_.snapshot);
        delayed_send(this, opts_.stop_timeout, kill_atom::value, from);
      }
      hold(s, std::move(rp), std::move(content), true);
    } else {
      ask(id, std::move(content), std::move(rp));
    }
    update_gauges();
    return;
  }
  rp.deliver(std::move(answer));
  if (current) {
    enforce();
    admit();
  }
}

void registry_actor::hold(slot& s, caf::response_promise rp,
                          caf::message content, bool bounced) {
  held_message h{std::move(rp), std::move(content)};
  if (bounced) {
    s.held.insert(s.held.begin() + static_cast<ptrdiff_t>(s.bounced),
                  std::move(h));
    ++s.bounced;
  } else {
    s.held.push_back(std::move(h));
  }
  ++held_;
  metrics_->messages_held = held_;
}

void registry_actor::enforce() {
  auto victims = table_.select(clock().now(), opts_);
  for (auto& v : victims)
    passivate(v.id, slots_.at(v.id), v.cause);
  if (!victims.empty())
    update_gauges();
}

void registry_actor::passivate(const std::string& id, slot& s,
                               passivation_cause cause) {
  table_.mark_passivating(id);
  s.stopping = true;
  metrics_->passivated(cause);
  // Behind the messages sent to it before: they run first.
  caf::anon_send(s.handle, passivate_atom::value, opts_.snapshot);
  delayed_send(this, opts_.stop_timeout, kill_atom::value, s.handle.address());
}

void registry_actor::stopped(const caf::actor_addr& who) {
  auto n = names_.find(who);
  if (n == names_.end())
    return;
  auto id = std::move(n->second);
  names_.erase(n);
  table_.remove(id);
  auto i = slots_.find(id);
  if (i == slots_.end())
    return;
  auto waiting = std::move(i->second.held);
  held_ -= waiting.size();
  metrics_->messages_held = held_;
  slots_.erase(i);
  update_gauges();
  // The messages that waited for it go to its next activation, in order
  // (behind the actors waiting for room, if any).
  for (auto& h : waiting)
    ask(id, std::move(h.content), std::move(h.rp));
  admit();
}

void registry_actor::update_gauges() {
  metrics_->set_active(table_.active());
  metrics_->state_bytes = table_.bytes();
}

caf::actor spawn_registry_actor(caf::actor_system& sys,
                                activation_factory factory,
                                passivation_options opts,
                                std::shared_ptr<activation_metrics> metrics) {
  return sys.spawn<registry_actor>(std::move(factory), opts,
                                   std::move(metrics));
}

} // namespace aether
