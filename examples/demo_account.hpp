#pragma once
// The account of bank_account.hpp plus a query the demos use to show how an
// account recovered: `info` answers {version, snapshot version it recovered
// from, events replayed, balance}.
#include "bank_account.hpp"

#include <vector>

using info_atom = caf::atom_constant<caf::atom("info")>;

class demo_account : public account_actor {
public:
  using account_actor::account_actor;

  caf::behavior commands() override {
    caf::message_handler base{account_actor::commands().as_behavior_impl()};
    return base.or_else([this](info_atom) {
      return std::vector<int64_t>{version(), recovered_from_snapshot(),
                                  events_replayed(), state().balance};
    });
  }
};
