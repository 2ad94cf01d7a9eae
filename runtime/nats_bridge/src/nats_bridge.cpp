#include "aether/nats_bridge/nats_bridge.hpp"

#include "aether/core/error.hpp"
#include "aether/core/uuid.hpp"
#include "aether/persistence/json_codec.hpp"
#include "aether/persistence/validation.hpp"
#include "aether/runtime/event_stored.hpp"
#include "aether/runtime/subject_pattern.hpp"

#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <nats/nats.h>
#include <sstream>

namespace aether {

std::string encode_envelope(const std::string& node_id, const std::string& ns,
                            const event& ev) {
  boost::json::object env;
  env["node_id"] = node_id;
  env["namespace_id"] = ns;
  env["event"] = json_codec::to_json(ev);
  return boost::json::serialize(env);
}

caf::expected<envelope> decode_envelope(std::string_view text) {
  auto bad = [](const std::string& what) {
    return make_persistence_error(persistence_error::invalid_argument,
                                  "envelope: " + what);
  };
  auto parsed = json_codec::parse(text);
  if (!parsed)
    return bad("not JSON: " + describe(parsed.error()));
  auto* obj = parsed->if_object();
  if (!obj)
    return bad("must be a JSON object");
  auto* node = obj->if_contains("node_id");
  if (!node || !node->is_string() || node->as_string().empty())
    return bad("node_id must be a non-empty string");
  auto* ns = obj->if_contains("namespace_id");
  if (!ns || !ns->is_string())
    return bad("namespace_id must be a string");
  std::string ns_str{ns->as_string()};
  if (auto err = validate_namespace(ns_str))
    return bad("namespace_id: " + describe(err));
  auto* ev = obj->if_contains("event");
  if (!ev)
    return bad("event is missing");
  auto decoded = json_codec::event_from_json(*ev);
  if (!decoded)
    return bad("event: " + describe(decoded.error()));
  if (auto err = validate_event(*decoded))
    return bad("event: " + describe(err));
  return envelope{std::string{node->as_string()}, std::move(ns_str),
                  std::move(*decoded)};
}

struct nats_bridge::core {
  std::weak_ptr<event_bus> bus;
  std::shared_ptr<nats_connection> conn;
  nats_bridge_options opts;
  stats counters;
  mutable std::mutex mtx;
  std::map<std::string, natsSubscription*> subs;
  bool closed = false;
  // NATS subscriptions whose message handler may still run (until nats.c
  // calls on_complete); the destructor waits for them.
  size_t open_handlers = 0;
  std::condition_variable handlers_done;
};

namespace {

struct sub_closure {
  std::shared_ptr<nats_bridge::core> core;
  std::string pattern;
  std::string prefix; // subject prefix plus the dot
};

void on_message(natsConnection*, natsSubscription*, natsMsg* msg,
                void* closure) {
  auto* c = static_cast<sub_closure*>(closure);
  auto& core = *c->core;
  std::string subject{natsMsg_GetSubject(msg)};
  std::string_view data{natsMsg_GetData(msg),
                        static_cast<size_t>(natsMsg_GetDataLength(msg))};
  core.counters.received += 1;
  auto env = decode_envelope(data);
  natsMsg_Destroy(msg);
  data = {};
  if (!env) {
    core.counters.malformed += 1;
    return;
  }
  if (env->node_id == core.opts.node_id) {
    core.counters.own_ignored += 1;
    return;
  }
  if (subject.size() <= c->prefix.size()
      || std::string_view{subject}.substr(c->prefix.size()) != env->ns) {
    core.counters.wrong_namespace += 1;
    return;
  }
  if (auto bus = core.bus.lock())
    bus->deliver_remote(c->pattern, env->ns,
                        std::make_shared<const event>(std::move(env->ev)),
                        std::move(env->node_id));
}

void on_complete(void* closure) {
  // nats.c calls this after the subscription closed and its handler
  // returned for the last time.
  auto* c = static_cast<sub_closure*>(closure);
  auto core = c->core;
  delete c;
  std::lock_guard<std::mutex> guard{core->mtx};
  core->open_handlers -= 1;
  core->handlers_done.notify_all();
}

void close_sub(natsSubscription* sub) {
  natsSubscription_Unsubscribe(sub);
  natsSubscription_Destroy(sub);
}

/// Closes a subscription so that nats.c receives nothing more for it before
/// it is destroyed: drain (the server confirms the unsubscribe, the messages
/// already received are handled), wait for that (bounded), then destroy.
/// nats.c 3.4.1 can otherwise look up a message's subscription in its read
/// loop while the application destroys it (nats.c issue #637; seen here by
/// ThreadSanitizer as a lock of a destroyed mutex).
void drain_sub(natsSubscription* sub) {
  if (natsSubscription_DrainTimeout(sub, 2000) == NATS_OK)
    natsSubscription_WaitForDrainCompletion(sub, 3000);
  else
    natsSubscription_Unsubscribe(sub);
  natsSubscription_Destroy(sub);
}

} // namespace

caf::expected<std::unique_ptr<nats_bridge>>
nats_bridge::start(std::shared_ptr<event_bus> bus,
                   std::shared_ptr<nats_connection> conn,
                   nats_bridge_options opts) {
  if (!bus || !conn)
    return make_persistence_error(persistence_error::invalid_argument,
                                  "bridge: needs a bus and a NATS connection");
  if (opts.node_id.empty())
    opts.node_id = make_uuid();
  if (auto err = validate_namespace(opts.subject_prefix))
    return make_persistence_error(persistence_error::invalid_argument,
                                  "subject_prefix: " + describe(err));
  std::unique_ptr<nats_bridge> result{new nats_bridge};
  result->core_ = std::make_shared<core>();
  result->core_->bus = bus;
  result->core_->conn = std::move(conn);
  result->core_->opts = std::move(opts);
  bus->add_listener(result.get());
  return result;
}

nats_bridge::~nats_bridge() {
  if (auto bus = core_->bus.lock())
    bus->remove_listener(this);
  std::map<std::string, natsSubscription*> subs;
  {
    std::lock_guard<std::mutex> guard{core_->mtx};
    core_->closed = true;
    subs.swap(core_->subs);
  }
  for (auto& kv : subs)
    drain_sub(kv.second);
  // No message handler runs after the destructor returned (bounded: a
  // handler blocked in user code does not hang the shutdown forever).
  std::unique_lock<std::mutex> guard{core_->mtx};
  core_->handlers_done.wait_for(guard, std::chrono::seconds{5}, [this] {
    return core_->open_handlers == 0;
  });
}

const std::string& nats_bridge::node_id() const {
  return core_->opts.node_id;
}

const nats_bridge::stats& nats_bridge::statistics() const {
  return core_->counters;
}

size_t nats_bridge::nats_subscriptions() const {
  std::lock_guard<std::mutex> guard{core_->mtx};
  return core_->subs.size();
}

uint64_t nats_bridge::nats_dropped() const {
  std::lock_guard<std::mutex> guard{core_->mtx};
  uint64_t total = 0;
  for (auto& kv : core_->subs) {
    int64_t n = 0;
    if (natsSubscription_GetDropped(kv.second, &n) == NATS_OK && n > 0)
      total += static_cast<uint64_t>(n);
  }
  return total;
}

uint64_t nats_bridge::reconnects() const {
  return core_->conn->reconnects();
}

void nats_bridge::pattern_added(const std::string& pattern) {
  std::lock_guard<std::mutex> guard{core_->mtx};
  if (core_->closed || core_->subs.count(pattern) > 0)
    return;
  auto* closure = new sub_closure{core_, pattern,
                                  core_->opts.subject_prefix + "."};
  auto subject = closure->prefix + pattern;
  natsSubscription* sub = nullptr;
  core_->open_handlers += 1; // until on_complete
  auto s = natsConnection_Subscribe(&sub, core_->conn->handle(),
                                    subject.c_str(), on_message, closure);
  if (s != NATS_OK) {
    delete closure;
    core_->open_handlers -= 1;
    core_->counters.subscribe_errors += 1;
    return;
  }
  natsSubscription_SetOnCompleteCB(sub, on_complete, closure);
  natsSubscription_SetPendingLimits(sub, core_->opts.pending_limit,
                                    64 * 1024 * 1024);
  core_->subs.emplace(pattern, sub);
}

void nats_bridge::pattern_removed(const std::string& pattern) {
  natsSubscription* sub = nullptr;
  {
    std::lock_guard<std::mutex> guard{core_->mtx};
    auto i = core_->subs.find(pattern);
    if (i == core_->subs.end())
      return;
    sub = i->second;
    core_->subs.erase(i);
  }
  close_sub(sub);
}

void nats_bridge::published(const std::string& ns,
                            const std::shared_ptr<const event>& ev) {
  auto& o = core_->opts;
  if (!o.forward_event_stored && ev->type == event_stored_type) {
    core_->counters.kept_local += 1;
    return;
  }
  auto payload = encode_envelope(o.node_id, ns, *ev);
  auto subject = o.subject_prefix + "." + ns;
  auto s = natsConnection_Publish(core_->conn->handle(), subject.c_str(),
                                  payload.data(),
                                  static_cast<int>(payload.size()));
  if (s == NATS_OK)
    core_->counters.sent += 1;
  else
    core_->counters.send_errors += 1;
}

caf::expected<event_bus::subscription_id>
nats_bridge::subscribe_to_event_stored(const std::string& pattern,
                                       std::shared_ptr<event_store> store) {
  auto bus = core_->bus.lock();
  if (!bus || !store)
    return make_persistence_error(persistence_error::invalid_argument,
                                  "subscribe_to_event_stored: needs a store "
                                  "and a live bus");
  // With notifications on the wire, they are what to read; without, the
  // events themselves (each carries its actor id and version).
  subscription_options opts;
  auto notifications = core_->opts.forward_event_stored;
  if (notifications)
    opts.filter.event_types = {event_stored_type};
  auto weak = std::weak_ptr<core>{core_};
  return bus->subscribe(
    pattern,
    [weak, store, notifications](const bus_event& e) {
      if (!e.remote())
        return; // our own store already knows
      auto c = weak.lock();
      if (!c)
        return;
      if (notifications) {
        auto info = read_event_stored(e.event());
        if (!info)
          return;
        store->update_version_cache(info->actor_id, info->version);
      } else if (e.event().type != event_stored_type) {
        store->update_version_cache(e.event().actor_id, e.event().version);
      } else {
        return;
      }
      c->counters.cache_updates += 1;
    },
    opts);
}

std::string nats_bridge::to_prometheus() const {
  auto& c = core_->counters;
  std::ostringstream out;
  auto counter = [&](const char* name, const char* help, uint64_t value) {
    out << "# HELP aether_bridge_" << name << ' ' << help << '\n'
        << "# TYPE aether_bridge_" << name << " counter\n"
        << "aether_bridge_" << name << ' ' << value << '\n';
  };
  counter("sent_total", "Envelopes published to NATS.", c.sent);
  counter("send_errors_total", "Envelopes NATS refused.", c.send_errors);
  counter("received_total", "Envelopes received from NATS.", c.received);
  counter("own_ignored_total", "Own envelopes received back and ignored.",
          c.own_ignored);
  counter("malformed_total", "Envelopes dropped as malformed.", c.malformed);
  counter("wrong_namespace_total",
          "Envelopes dropped whose namespace is not their subject's.",
          c.wrong_namespace);
  counter("cache_updates_total",
          "Version cache raises from remote EventStored notifications.",
          c.cache_updates);
  counter("kept_local_total",
          "EventStored notifications not sent (forward_event_stored off).",
          c.kept_local);
  counter("nats_dropped_total", "Messages nats.c dropped (slow consumer).",
          nats_dropped());
  counter("reconnects_total", "NATS reconnects.", reconnects());
  out << "# HELP aether_bridge_nats_subscriptions NATS subscriptions held.\n"
      << "# TYPE aether_bridge_nats_subscriptions gauge\n"
      << "aether_bridge_nats_subscriptions " << nats_subscriptions() << '\n';
  return out.str();
}

} // namespace aether
