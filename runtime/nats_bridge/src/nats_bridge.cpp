#include "aether/nats_bridge/nats_bridge.hpp"

#include "aether/core/error.hpp"
#include "aether/core/uuid.hpp"
#include "aether/nats/nats_subscription.hpp"
#include "aether/persistence/json_codec.hpp"
#include "aether/persistence/validation.hpp"
#include "aether/runtime/event_stored.hpp"
#include "aether/runtime/subject_pattern.hpp"
#include "bridge_outbox.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <chrono>
#include <sstream>
#include <vector>

namespace aether {

std::string encode_envelope(const std::string& node_id, const std::string& ns,
                            const event& ev) {
  // The event's JSON (one serialization of it, as the stores write it)
  // spliced into the envelope: no tree of the event is built and serialized
  // a second time.
  auto body = json_codec::encode(ev);
  auto node = boost::json::serialize(boost::json::string_view{node_id});
  auto space = boost::json::serialize(boost::json::string_view{ns});
  std::string out;
  out.reserve(body.size() + node.size() + space.size() + 40);
  out += "{\"node_id\":";
  out += node;
  out += ",\"namespace_id\":";
  out += space;
  out += ",\"event\":";
  out += body;
  out += '}';
  return out;
}

caf::expected<envelope> decode_envelope(std::string_view text) {
  auto bad = [](const std::string& what) {
    return make_persistence_error(persistence_error::invalid_argument,
                                  "envelope: " + what);
  };
  // One parse; the tree lives until the event is built (which copies out
  // of it): one block for all of it instead of an allocation per node.
  unsigned char buf[4096];
  boost::json::monotonic_resource mr{buf, sizeof(buf)};
  auto parsed = json_codec::parse(text, &mr);
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
  std::map<std::string, std::unique_ptr<nats_subscription>> subs;
  // Removed patterns whose subscriptions are still draining (closed by the
  // destructor, so that removing a pattern never waits).
  std::vector<std::unique_ptr<nats_subscription>> closing;
  bool closed = false;
  // Writes the events of the bus to NATS (destroyed first: it uses the
  // fields above).
  std::unique_ptr<detail::bridge_outbox> outbox;
};

namespace {

/// Handles one message of the subscription to `pattern`.
void on_message(nats_bridge::core& core, const std::string& pattern,
                const std::string& prefix, nats_message&& msg) {
  core.counters.received += 1;
  auto env = decode_envelope(msg.data);
  if (!env) {
    core.counters.malformed += 1;
    return;
  }
  if (env->node_id == core.opts.node_id) {
    core.counters.own_ignored += 1;
    return;
  }
  if (msg.subject.size() <= prefix.size()
      || std::string_view{msg.subject}.substr(prefix.size()) != env->ns) {
    core.counters.wrong_namespace += 1;
    return;
  }
  if (auto bus = core.bus.lock())
    bus->deliver_remote(pattern, env->ns,
                        std::make_shared<const event>(std::move(env->ev)),
                        std::move(env->node_id));
}

} // namespace

caf::expected<std::unique_ptr<nats_bridge>>
nats_bridge::start(std::shared_ptr<event_bus> bus,
                   std::shared_ptr<nats_connection> conn,
                   nats_bridge_options opts) {
  if (!bus || !conn)
    return make_persistence_error(persistence_error::invalid_argument,
                                  "bridge: needs a bus and a NATS connection");
  if (opts.max_queued == 0)
    return make_persistence_error(persistence_error::invalid_argument,
                                  "max_queued: must be at least 1");
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
  auto* c = result->core_.get();
  result->core_->outbox = std::make_unique<detail::bridge_outbox>(
    c->opts.max_queued,
    [c](const std::string& subject, const std::string& payload) {
      bool ok = false;
      try {
        ok = !c->conn->publish(subject, payload);
      } catch (...) {
        // counted below
      }
      if (ok)
        c->counters.sent += 1;
      else
        c->counters.send_errors += 1;
    },
    [c] {
      // With send_asap the publishes were written already. Disconnected,
      // nats.c keeps them for the reconnect and a flush would only wait
      // for its timeout.
      if (!c->conn->options().send_asap && c->conn->connected())
        static_cast<void>(c->conn->flush(std::chrono::seconds{1}));
    });
  bus->add_listener(result.get());
  return result;
}

nats_bridge::~nats_bridge() {
  if (auto bus = core_->bus.lock())
    bus->remove_listener(this);
  // What the bus handed over before goes out.
  if (core_->outbox)
    core_->outbox->stop();
  std::vector<std::unique_ptr<nats_subscription>> subs;
  {
    std::lock_guard<std::mutex> guard{core_->mtx};
    core_->closed = true;
    for (auto& kv : core_->subs)
      subs.push_back(std::move(kv.second));
    core_->subs.clear();
    for (auto& sub : core_->closing)
      subs.push_back(std::move(sub));
    core_->closing.clear();
  }
  // Drain all at once: the messages the server sent before it saw the
  // unsubscribes are handled; no message handler runs after the destructor
  // returned (bounded: a handler blocked in user code does not hang the
  // shutdown forever).
  for (auto& sub : subs)
    sub->begin_close();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{5};
  for (auto& sub : subs)
    sub->close(deadline);
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

size_t nats_bridge::nats_subscriptions_draining() const {
  std::lock_guard<std::mutex> guard{core_->mtx};
  return core_->closing.size();
}

uint64_t nats_bridge::nats_dropped() const {
  std::lock_guard<std::mutex> guard{core_->mtx};
  uint64_t total = 0;
  for (auto& kv : core_->subs)
    total += kv.second->dropped();
  return total;
}

uint64_t nats_bridge::reconnects() const {
  return core_->conn->reconnects();
}

namespace {

/// Frees the subscriptions of removed patterns whose drain finished (their
/// close returns at once).
void reap(std::vector<std::unique_ptr<nats_subscription>>& closing) {
  auto now = std::chrono::steady_clock::now();
  auto i = std::remove_if(closing.begin(), closing.end(), [&](auto& sub) {
    if (!sub->drained())
      return false;
    sub->close(now);
    return true;
  });
  closing.erase(i, closing.end());
}

} // namespace

void nats_bridge::pattern_added(const std::string& pattern) {
  std::lock_guard<std::mutex> guard{core_->mtx};
  reap(core_->closing);
  if (core_->closed || core_->subs.count(pattern) > 0)
    return;
  auto prefix = core_->opts.subject_prefix + ".";
  nats_subscription::limits lim;
  lim.pending_msgs = core_->opts.pending_limit;
  lim.pending_bytes = 64 * 1024 * 1024;
  auto sub = nats_subscription::subscribe(
    core_->conn, prefix + pattern, lim,
    [core = core_, pattern, prefix](nats_message&& msg) {
      on_message(*core, pattern, prefix, std::move(msg));
    });
  if (!sub) {
    core_->counters.subscribe_errors += 1;
    return;
  }
  core_->subs.emplace(pattern, std::move(*sub));
}

void nats_bridge::pattern_removed(const std::string& pattern) {
  std::lock_guard<std::mutex> guard{core_->mtx};
  reap(core_->closing);
  auto i = core_->subs.find(pattern);
  if (i == core_->subs.end())
    return;
  // Starts draining without waiting (this may run on an actor's thread);
  // the next pattern change frees it once drained, the destructor waits
  // for what is left.
  i->second->begin_close();
  core_->closing.push_back(std::move(i->second));
  core_->subs.erase(i);
}

void nats_bridge::published(const std::string& ns,
                            const std::shared_ptr<const event>& ev) {
  auto& o = core_->opts;
  if (!o.forward_event_stored && ev->type == event_stored_type) {
    core_->counters.kept_local += 1;
    return;
  }
  // Encoded here, on the publisher's thread; the outbox thread only
  // writes.
  if (!core_->outbox->push(o.subject_prefix + "." + ns,
                           encode_envelope(o.node_id, ns, *ev)))
    core_->counters.queue_dropped += 1;
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
  counter("queue_dropped_total",
          "Events not sent: max_queued were waiting for the publisher.",
          c.queue_dropped);
  counter("nats_dropped_total", "Messages nats.c dropped (slow consumer).",
          nats_dropped());
  counter("reconnects_total", "NATS reconnects.", reconnects());
  out << "# HELP aether_bridge_nats_subscriptions NATS subscriptions held.\n"
      << "# TYPE aether_bridge_nats_subscriptions gauge\n"
      << "aether_bridge_nats_subscriptions " << nats_subscriptions() << '\n';
  return out.str();
}

} // namespace aether
