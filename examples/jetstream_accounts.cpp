// The bank accounts of bank_account.hpp on NATS JetStream.
//
//   jetstream_accounts <nats url>
//   (scripts/with-nats-server runs it against a temporary server)
#include "aether/jetstream/jetstream_store.hpp"
#include "aether/runtime/config.hpp"
#include "aether/runtime/store_context.hpp"
#include "bank_account.hpp"

#include <cstdio>
#include <cstdlib>
#include <iostream>

int main(int argc, char** argv) {
  const char* url = argc > 1 ? argv[1] : std::getenv("NATS_URL");
  if (url == nullptr) {
    std::cerr << "usage: jetstream_accounts <nats url>\n";
    return 2;
  }
  aether::nats_options nats;
  nats.servers = {url};
  auto conn = aether::nats_connection::connect(nats);
  if (!conn) {
    std::cerr << aether::describe(conn.error()) << "\n";
    return 1;
  }
  aether::jetstream_store::options opts;
  opts.ns = "bank";
  auto store = aether::jetstream_store::open(*conn, opts);
  if (!store) {
    std::cerr << aether::describe(store.error()) << "\n";
    return 1;
  }
  aether::config cfg;
  caf::actor_system sys{cfg};
  auto ctx = aether::store_context::make(sys, std::move(*store));
  aether::persistence_options popts;
  popts.snapshots.every_events(100);
  caf::scoped_actor self{sys};
  auto acc = sys.spawn<account_actor>("account-1", ctx, popts);
  for (int i = 0; i < 250; ++i)
    self->send(acc, deposit_atom::value, int64_t{10});
  int rc = 1;
  self->request(acc, caf::infinite, balance_atom::value)
    .receive(
      [&](int64_t balance) {
        std::printf("account-1 on JetStream: balance %lld\n",
                    static_cast<long long>(balance));
        rc = balance % 2500 == 0 ? 0 : 1;
      },
      [&](caf::error& err) {
        std::cerr << sys.render(err) << "\n";
      });
  self->send_exit(acc, caf::exit_reason::user_shutdown);
  self->wait_for(acc);
  return rc;
}
