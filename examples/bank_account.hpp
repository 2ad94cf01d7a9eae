#pragma once
// A persistent bank account: the state is the fold of its typed events.
#include "aether/runtime/event_sourced.hpp"

#include <caf/all.hpp>

using deposit_atom = caf::atom_constant<caf::atom("deposit")>;
using withdraw_atom = caf::atom_constant<caf::atom("withdraw")>;
using balance_atom = caf::atom_constant<caf::atom("balance")>;

// 1. The events: plain structs with a stable wire name (the `eventType`)
//    and their fields.
struct deposited {
  int64_t amount = 0;
};
AETHER_EVENT(deposited, "deposited", (amount))

struct withdrawn {
  int64_t amount = 0;
};
AETHER_EVENT(withdrawn, "withdrawn", (amount))

// 2. The state: one `apply` per event (a missing one does not compile).
//    Described, so snapshots need no code.
struct account {
  int64_t balance = 0;
  void apply(const deposited& e) {
    balance += e.amount;
  }
  void apply(const withdrawn& e) {
    balance -= e.amount;
  }
};
BOOST_DESCRIBE_STRUCT(account, (), (balance))

// 3. The actor: ordinary CAF handlers that persist events.
class account_actor
  : public aether::event_sourced<account,
                                 aether::events<deposited, withdrawn>> {
public:
  using event_sourced::event_sourced;

  caf::behavior commands() override {
    return {
      [this](deposit_atom, int64_t amount) -> caf::result<int64_t> {
        if (amount <= 0)
          return aether::invalid_field("amount", "must be positive");
        return persist(deposited{amount}).then_reply(&account::balance);
      },
      [this](withdraw_atom, int64_t amount) -> caf::result<int64_t> {
        if (amount <= 0 || amount > state().balance)
          return aether::invalid_field("amount",
                                       "must be positive and covered");
        return persist(withdrawn{amount}).then_reply(&account::balance);
      },
      [this](balance_atom) {
        return state().balance;
      },
    };
  }
};
