#include "aether/testkit/behavior_testkit_base.hpp"

#include "aether/core/error.hpp"
#include "aether/persistence/json_codec.hpp"
#include "aether/persistence/memory_store.hpp"
#include "aether/testkit/check_failed.hpp"
#include "aether/testkit/test_config.hpp"

#include <boost/json/serialize.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <mutex>

namespace aether::testkit {

struct behavior_testkit_base::impl {
  // Members in the order they must start; they stop in reverse.
  std::shared_ptr<event_store_with_snapshots> inner;
  std::shared_ptr<failing_store> store;
  test_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
  store_context ctx;
  // Set by the watched actor's attached functor (on the test thread).
  std::shared_ptr<std::optional<caf::error>> stop_reason;
};

behavior_testkit_base::behavior_testkit_base(std::string persistence_id,
                                             testkit_options opts)
  : id_(std::move(persistence_id)), opts_(std::move(opts)),
    impl_(std::make_unique<impl>()) {
  impl_->inner = opts_.store ? opts_.store : std::make_shared<memory_store>();
  impl_->store = std::make_shared<failing_store>(
    impl_->inner, failing_store::completion::caller);
  if (opts_.configure)
    opts_.configure(impl_->cfg);
  impl_->sys = std::make_unique<caf::actor_system>(impl_->cfg);
  impl_->sched
    = &dynamic_cast<caf::scheduler::test_coordinator&>(impl_->sys->scheduler());
  // I/O workers as actors on the test coordinator: store calls run on the
  // test's thread, in order.
  impl_->ctx = store_context::make(*impl_->sys, impl_->store,
                                   store_io::options{2, false});
}

behavior_testkit_base::~behavior_testkit_base() {
  run();
  impl_->ctx = {};
  run();
}

failing_store& behavior_testkit_base::store() {
  return *impl_->store;
}

event_store_with_snapshots& behavior_testkit_base::inner_store() {
  return *impl_->inner;
}

caf::actor_system& behavior_testkit_base::system() {
  return *impl_->sys;
}

const store_context& behavior_testkit_base::context() const {
  return impl_->ctx;
}

size_t behavior_testkit_base::run() {
  return impl_->sched->run();
}

void behavior_testkit_base::advance(caf::timespan t) {
  impl_->sched->clock().advance_time(t);
  run();
}

std::optional<caf::error> behavior_testkit_base::stopped() const {
  if (!impl_->stop_reason)
    return std::nullopt;
  return *impl_->stop_reason;
}

std::vector<event> behavior_testkit_base::stored_events(int64_t from) {
  auto evs = impl_->inner->get_events(id_, from);
  if (!evs)
    throw check_failed("reading the events of \"" + id_
                       + "\" failed: " + describe(evs.error()));
  return std::move(*evs);
}

int64_t behavior_testkit_base::latest_version() {
  auto v = impl_->inner->get_latest_version(id_);
  if (!v)
    throw check_failed("reading the version of \"" + id_
                       + "\" failed: " + describe(v.error()));
  return *v;
}

void behavior_testkit_base::watch(const caf::actor& a) {
  auto reason = std::make_shared<std::optional<caf::error>>();
  impl_->stop_reason = reason;
  a->attach_functor([reason](const caf::error& why) {
    *reason = why;
  });
}

void behavior_testkit_base::seed(std::vector<event> evs) {
  if (evs.empty())
    return;
  auto v = latest_version();
  for (auto& e : evs) {
    e.actor_id = id_;
    e.version = ++v;
  }
  if (auto res = impl_->inner->save_events(std::move(evs)); !res)
    throw check_failed("seeding the events of \"" + id_
                       + "\" failed: " + describe(res.error()));
}

void behavior_testkit_base::seed_snapshot(boost::json::value state) {
  auto v = latest_version();
  if (v == 0)
    throw check_failed("seed_snapshot: \"" + id_
                       + "\" has no event yet; a snapshot stands for the "
                         "events up to its version (seed events first)");
  actor_snapshot s;
  s.actor_id = id_;
  s.version = v;
  s.state = std::move(state);
  s.time = now();
  if (auto err = impl_->inner->save_snapshot(std::move(s)))
    throw check_failed("seeding a snapshot of \"" + id_
                       + "\" failed: " + describe(err));
}

void behavior_testkit_base::check_wire_round_trip(
  const std::vector<event>& evs) {
  for (auto& e : evs) {
    auto text = json_codec::encode(e);
    auto back = json_codec::decode_event(text);
    if (!back)
      throw check_failed("event " + std::to_string(e.version) + " (" + e.type
                         + ") does not decode from its JSON: "
                         + describe(back.error()) + "; JSON: " + text);
    if (*back != e)
      throw check_failed("event " + std::to_string(e.version) + " (" + e.type
                         + ") changes through JSON: " + text + " decodes to "
                         + json_codec::encode(*back));
  }
}

} // namespace aether::testkit
