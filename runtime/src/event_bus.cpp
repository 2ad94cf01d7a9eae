#include "aether/runtime/event_bus.hpp"

#include "aether/core/error.hpp"
#include "bus_inbox.hpp"
#include "call_gate.hpp"

#include <algorithm>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <sstream>

namespace aether {

bus_listener::~bus_listener() = default;

namespace {

const std::string invalid_key = "(invalid)";

std::string escape_label(const std::string& x) {
  std::string out;
  for (auto c : x) {
    if (c == '\\' || c == '"')
      out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

} // namespace

struct event_bus::ns_counters {
  std::atomic<uint64_t> published{0};
  std::atomic<uint64_t> delivered{0};
  std::atomic<uint64_t> dropped{0};
  std::atomic<uint64_t> publish_errors{0};
  std::atomic<uint64_t> subscribe_errors{0};
  std::atomic<int64_t> subscriptions{0};
};

struct event_bus::subscription {
  subscription_id id = 0;
  subject_pattern pattern;
  std::optional<subject_pattern> actor_pattern;
  std::set<std::string> types;
  caf::actor target;
  bool owned = false; // a callback actor the bus spawned
  size_t capacity = 0;
  overflow_policy overflow = overflow_policy::drop_newest;
  std::chrono::milliseconds max_block{0};

  std::mutex m;
  std::condition_variable cv;
  size_t in_flight = 0;
  bool closed = false;
  std::atomic<uint64_t> delivered{0};
  std::atomic<uint64_t> dropped{0};
  std::shared_ptr<std::atomic<uint64_t>> errors
    = std::make_shared<std::atomic<uint64_t>>(0);
  std::shared_ptr<detail::call_gate> gate; // callback subscriptions only
  // Callback subscriptions: deliveries wait here, not one message each.
  std::shared_ptr<detail::bus_inbox> inbox;

  // Ends deliveries: wakes blocked publishers, waits for a running callback,
  // stops the callback's actor.
  void close() {
    {
      std::lock_guard<std::mutex> guard{m};
      closed = true;
    }
    cv.notify_all();
    if (gate)
      gate->close();
    // Queued deliveries hold this subscription (their slots): drop them
    // (outside the lock: each frees its slot under `m`).
    if (inbox)
      inbox->close();
    if (owned)
      caf::anon_send_exit(target, caf::exit_reason::user_shutdown);
  }

  bool accepts(const std::string& ns, const event& ev) const {
    if (!pattern.matches(ns))
      return false;
    if (!types.empty() && types.count(ev.type) == 0)
      return false;
    return !actor_pattern || actor_pattern->matches(ev.actor_id);
  }
};

namespace {

// Frees one buffer slot of a subscription when the last copy of a delivery
// is destroyed.
struct slot_guard {
  std::shared_ptr<void> keep;
  std::mutex* m;
  std::condition_variable* cv;
  size_t* in_flight;
  slot_guard(std::shared_ptr<void> k, std::mutex* mx,
             std::condition_variable* c, size_t* n)
    : keep(std::move(k)), m(mx), cv(c), in_flight(n) {}
  slot_guard(const slot_guard&) = delete;
  slot_guard& operator=(const slot_guard&) = delete;
  ~slot_guard() {
    {
      std::lock_guard<std::mutex> guard{*m};
      --*in_flight;
    }
    cv->notify_all();
  }
};

} // namespace

event_bus::event_bus(caf::actor_system& sys) : sys_(sys) {}

event_bus::~event_bus() {
  std::map<subscription_id, subscription_ptr> subs;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    subs.swap(subs_);
  }
  for (auto& kv : subs)
    kv.second->close();
}

event_bus::ns_counters& event_bus::counters_for(const std::string& name) {
  auto& ptr = counters_[name];
  if (!ptr)
    ptr = std::make_unique<ns_counters>();
  return *ptr;
}

caf::error event_bus::publish(const std::string& ns, event ev) {
  return publish(ns, std::make_shared<const event>(std::move(ev)));
}

caf::error event_bus::publish(const std::string& ns,
                              std::shared_ptr<const event> ev) {
  if (auto err = validate_namespace(ns)) {
    std::lock_guard<std::mutex> guard{mtx_};
    counters_for(invalid_key).publish_errors += 1;
    return err;
  }
  if (!ev) {
    std::lock_guard<std::mutex> guard{mtx_};
    counters_for(ns).publish_errors += 1;
    return make_persistence_error(persistence_error::invalid_argument,
                                  "event: must not be null");
  }
  std::vector<subscription_ptr> targets;
  std::vector<bus_listener*> listeners;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    counters_for(ns).published += 1;
    for (auto& kv : subs_)
      if (kv.second->accepts(ns, *ev))
        targets.push_back(kv.second);
    listeners = listeners_;
  }
  auto p = std::make_shared<bus_event::payload>();
  p->ns = ns;
  p->ev = ev;
  deliver(targets, p);
  if (!listeners.empty()) {
    // The list again, under listener_mtx_: a listener removed while this
    // publish delivered (which may block) is not called after its
    // remove_listener returned.
    std::lock_guard<std::mutex> guard{listener_mtx_};
    {
      std::lock_guard<std::mutex> state{mtx_};
      listeners = listeners_;
    }
    for (auto* l : listeners)
      l->published(ns, ev);
  }
  return caf::none;
}

void event_bus::deliver_remote(const std::string& pattern,
                               const std::string& ns,
                               std::shared_ptr<const event> ev,
                               std::string origin) {
  std::vector<subscription_ptr> targets;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& kv : subs_)
      if (kv.second->pattern.str() == pattern && kv.second->accepts(ns, *ev))
        targets.push_back(kv.second);
  }
  auto p = std::make_shared<bus_event::payload>();
  p->ns = ns;
  p->ev = std::move(ev);
  p->origin = std::move(origin);
  deliver(targets, p);
}

void event_bus::deliver(const std::vector<subscription_ptr>& targets,
                        const std::shared_ptr<const bus_event::payload>& p) {
  ns_counters* c = nullptr;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    c = &counters_for(p->ns);
  }
  for (auto& sub : targets) {
    {
      std::unique_lock<std::mutex> lock{sub->m};
      if (sub->closed)
        continue;
      if (sub->in_flight >= sub->capacity
          && sub->overflow == overflow_policy::block)
        sub->cv.wait_for(lock, sub->max_block, [&] {
          return sub->in_flight < sub->capacity || sub->closed;
        });
      if (sub->closed)
        continue;
      if (sub->in_flight >= sub->capacity) {
        sub->dropped += 1;
        c->dropped += 1;
        continue;
      }
      ++sub->in_flight;
    }
    auto slot = std::make_shared<slot_guard>(sub, &sub->m, &sub->cv,
                                             &sub->in_flight);
    sub->delivered += 1;
    c->delivered += 1;
    if (!sub->inbox)
      caf::anon_send(sub->target, bus_atom::value,
                     bus_event{p, std::move(slot)});
    else if (sub->inbox->push(bus_event{p, std::move(slot)}))
      caf::anon_send(sub->target, bus_atom::value);
  }
}

caf::expected<event_bus::subscription_id>
event_bus::subscribe(const std::string& pattern, caf::actor subscriber,
                     subscription_options opts) {
  if (!subscriber) {
    std::lock_guard<std::mutex> guard{mtx_};
    counters_for(invalid_key).subscribe_errors += 1;
    return make_persistence_error(persistence_error::invalid_argument,
                                  "subscriber: must not be an invalid actor");
  }
  return add(pattern, std::move(subscriber), false, std::move(opts));
}

caf::expected<event_bus::subscription_id>
event_bus::subscribe(const std::string& pattern, callback fn,
                     subscription_options opts) {
  if (!fn) {
    std::lock_guard<std::mutex> guard{mtx_};
    counters_for(invalid_key).subscribe_errors += 1;
    return make_persistence_error(persistence_error::invalid_argument,
                                  "callback: must not be empty");
  }
  if (auto parsed = subject_pattern::parse(pattern); !parsed) {
    std::lock_guard<std::mutex> guard{mtx_};
    counters_for(invalid_key).subscribe_errors += 1;
    return parsed.error();
  }
  auto errors = std::make_shared<std::atomic<uint64_t>>(0);
  auto gate = std::make_shared<detail::call_gate>();
  auto inbox = std::make_shared<detail::bus_inbox>();
  auto worker = sys_.spawn([fn{std::move(fn)}, errors, gate,
                            inbox](caf::event_based_actor*) -> caf::behavior {
    return {
      [fn, errors, gate, inbox](bus_atom) {
        for (auto& queued : inbox->take()) {
          // Its slot is free once its callback returned.
          auto e = std::move(queued);
          try {
            gate->call([&] {
              fn(e);
            }); // never again once unsubscribed
          } catch (...) {
            *errors += 1; // never let an exception end the subscription
          }
        }
      },
    };
  });
  // Set before the subscription is visible: an unsubscribe racing this
  // subscribe closes the gate and the queue.
  auto id = add(pattern, worker, true, std::move(opts), [&](subscription& s) {
    s.errors = errors;
    s.gate = gate;
    s.inbox = inbox;
  });
  if (!id)
    caf::anon_send_exit(worker, caf::exit_reason::user_shutdown);
  return id;
}

caf::expected<event_bus::subscription_id>
event_bus::add(const std::string& pattern, caf::actor subscriber, bool owned,
               subscription_options opts,
               const std::function<void(subscription&)>& prepare) {
  auto fail = [this](caf::error err) -> caf::expected<subscription_id> {
    std::lock_guard<std::mutex> guard{mtx_};
    counters_for(invalid_key).subscribe_errors += 1;
    return err;
  };
  auto parsed = subject_pattern::parse(pattern);
  if (!parsed)
    return fail(parsed.error());
  auto sub = std::make_shared<subscription>();
  sub->pattern = std::move(*parsed);
  if (!opts.filter.actor_pattern.empty()) {
    auto ap = subject_pattern::parse(opts.filter.actor_pattern);
    if (!ap)
      return fail(make_persistence_error(persistence_error::invalid_argument,
                                         "filter.actor_pattern: "
                                           + describe(ap.error())));
    sub->actor_pattern = std::move(*ap);
  }
  if (opts.buffer == 0)
    return fail(make_persistence_error(persistence_error::invalid_argument,
                                       "buffer: must be at least 1"));
  sub->types = std::move(opts.filter.event_types);
  sub->target = subscriber;
  sub->owned = owned;
  if (prepare)
    prepare(*sub);
  sub->capacity = opts.buffer;
  sub->overflow = opts.overflow;
  sub->max_block = opts.max_block;
  std::vector<bus_listener*> listeners;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    sub->id = ++next_id_;
    subs_.emplace(sub->id, sub);
    pattern_refs_[pattern]++;
    counters_for(pattern).subscriptions += 1;
    listeners = listeners_;
  }
  if (!owned) {
    std::weak_ptr<event_bus> weak = weak_from_this();
    auto id = sub->id;
    subscriber->attach_functor([weak, id] {
      if (auto bus = weak.lock())
        bus->unsubscribe(id);
    });
  }
  // Also when not the first subscriber: the first one's call may not have
  // reached the listeners yet. When subscribe returns, the listeners (the
  // NATS bridge) know the pattern.
  if (!listeners.empty())
    sync_listeners(pattern);
  return sub->id;
}

bool event_bus::unsubscribe(subscription_id id) {
  subscription_ptr sub;
  bool last = false;
  std::vector<bus_listener*> listeners;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = subs_.find(id);
    if (i == subs_.end())
      return false;
    sub = i->second;
    subs_.erase(i);
    auto& refs = pattern_refs_[sub->pattern.str()];
    last = --refs == 0;
    if (last)
      pattern_refs_.erase(sub->pattern.str());
    counters_for(sub->pattern.str()).subscriptions -= 1;
    listeners = listeners_;
  }
  sub->close();
  if (last && !listeners.empty())
    sync_listeners(sub->pattern.str());
  return true;
}

void event_bus::sync_listeners(const std::string& pattern) {
  // Listeners learn the pattern's state as it is when they are told, not as
  // it was when the change happened: a last unsubscribe racing with a new
  // subscribe may reach this point after it, and must not remove what the
  // new subscriber needs. Calls are serialised by listener_mtx_, and each
  // reads the current state under it, so the last call wins with the truth.
  std::lock_guard<std::mutex> guard{listener_mtx_};
  std::vector<bus_listener*> listeners;
  bool present = false;
  {
    std::lock_guard<std::mutex> state{mtx_};
    present = pattern_refs_.count(pattern) > 0;
    listeners = listeners_;
  }
  for (auto* l : listeners) {
    if (present)
      l->pattern_added(pattern);
    else
      l->pattern_removed(pattern);
  }
}

std::optional<event_bus::subscription_stats>
event_bus::stats(subscription_id id) const {
  subscription_ptr sub;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = subs_.find(id);
    if (i == subs_.end())
      return std::nullopt;
    sub = i->second;
  }
  subscription_stats result;
  result.pattern = sub->pattern.str();
  result.delivered = sub->delivered;
  result.dropped = sub->dropped;
  result.errors = *sub->errors;
  std::lock_guard<std::mutex> guard{sub->m};
  result.in_flight = sub->in_flight;
  return result;
}

std::map<std::string, event_bus::counters> event_bus::metrics() const {
  std::map<std::string, counters> result;
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto& kv : counters_) {
    auto& c = result[kv.first];
    c.published = kv.second->published;
    c.delivered = kv.second->delivered;
    c.dropped = kv.second->dropped;
    c.publish_errors = kv.second->publish_errors;
    c.subscribe_errors = kv.second->subscribe_errors;
    c.subscriptions = kv.second->subscriptions;
  }
  return result;
}

std::string event_bus::to_prometheus() const {
  auto all = metrics();
  std::ostringstream out;
  auto family = [&](const char* name, const char* type, const char* help,
                    auto get) {
    out << "# HELP aether_bus_" << name << ' ' << help << '\n'
        << "# TYPE aether_bus_" << name << ' ' << type << '\n';
    for (auto& kv : all)
      out << "aether_bus_" << name << "{namespace=\"" << escape_label(kv.first)
          << "\"} " << get(kv.second) << '\n';
  };
  family("published_total", "counter", "Events published into a namespace.",
         [](const counters& c) {
           return c.published;
         });
  family("delivered_total", "counter",
         "Deliveries handed to subscribers, by event namespace.",
         [](const counters& c) {
           return c.delivered;
         });
  family("dropped_total", "counter",
         "Deliveries dropped because a subscriber's buffer was full.",
         [](const counters& c) {
           return c.dropped;
         });
  family("publish_errors_total", "counter",
         "Publishes refused (invalid namespace or event).",
         [](const counters& c) {
           return c.publish_errors;
         });
  family("subscribe_errors_total", "counter",
         "Subscriptions refused (invalid pattern, filter or subscriber).",
         [](const counters& c) {
           return c.subscribe_errors;
         });
  family("subscriptions", "gauge", "Active subscriptions, by pattern.",
         [](const counters& c) {
           return c.subscriptions;
         });
  return out.str();
}

void event_bus::add_listener(bus_listener* l) {
  std::vector<std::string> patterns;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    listeners_.push_back(l);
    for (auto& kv : pattern_refs_)
      patterns.push_back(kv.first);
  }
  std::lock_guard<std::mutex> guard{listener_mtx_};
  for (auto& p : patterns)
    l->pattern_added(p);
}

void event_bus::remove_listener(bus_listener* l) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    listeners_.erase(std::remove(listeners_.begin(), listeners_.end(), l),
                     listeners_.end());
  }
  // Wait for calls in progress (made with a copy of the old list).
  std::lock_guard<std::mutex> guard{listener_mtx_};
}

} // namespace aether
