#include "aether/runtime/actor_registry.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/message_view.hpp>
#include <caf/send.hpp>

namespace aether {

namespace {

using ref_stop_atom = caf::atom_constant<caf::atom("ae_rstop")>;

} // namespace

std::shared_ptr<actor_registry>
actor_registry::spawn(caf::actor_system& sys, activation_factory factory,
                      passivation_options opts) {
  auto metrics = std::make_shared<activation_metrics>();
  auto router = spawn_registry_actor(sys, std::move(factory), opts, metrics);
  return std::shared_ptr<actor_registry>{
    new actor_registry(std::move(router), std::move(metrics))};
}

caf::expected<std::shared_ptr<actor_registry>>
actor_registry::spawn_from_config(caf::actor_system& sys,
                                  activation_factory factory) {
  auto opts = passivation_options::from_config(sys.config());
  if (!opts)
    return std::move(opts.error());
  return spawn(sys, std::move(factory), *opts);
}

actor_registry::actor_registry(caf::actor router,
                               std::shared_ptr<activation_metrics> m)
  : router_(std::move(router)), metrics_(std::move(m)) {
  // nop
}

actor_registry::~actor_registry() {
  caf::anon_send_exit(router_, caf::exit_reason::user_shutdown);
}

caf::actor actor_registry::ref(const std::string& id) const {
  auto router = router_;
  return router.home_system().spawn([router, id](caf::event_based_actor* self) {
    // Stops with the registry (a monitor, not a link: a ref nobody holds
    // any more must not take the registry down with it).
    self->monitor(router);
    self->set_down_handler([self](caf::down_msg&) {
      self->quit();
    });
    self->set_default_handler(
      [self, router, id](caf::scheduled_actor*,
                         caf::message_view& x) -> caf::result<caf::message> {
        return self->delegate(router, ask_atom::value, id,
                              x.move_content_to_message());
      });
    return caf::behavior{[](ref_stop_atom) {
      // nop: the default handler takes every other message
    }};
  });
}

caf::error actor_registry::set_options(passivation_options opts) {
  if (auto err = opts.validate())
    return err;
  caf::anon_send(router_, registry_options_atom::value, opts);
  return caf::none;
}

} // namespace aether
