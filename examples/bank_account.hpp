#pragma once
// A persistent bank account: the state is the fold of its events.
#include "aether/core/error.hpp"
#include "aether/runtime/persistent_actor.hpp"

#include <caf/all.hpp>

using deposit_atom = caf::atom_constant<caf::atom("deposit")>;
using withdraw_atom = caf::atom_constant<caf::atom("withdraw")>;
using balance_atom = caf::atom_constant<caf::atom("balance")>;

// 1. The state, with its event handler and snapshot codec.
struct account {
  int64_t balance = 0;

  void apply(const aether::event& e) {
    auto amount = e.data.at("amount").as_int64();
    balance += e.type == "deposited" ? amount : -amount;
  }

  boost::json::value to_snapshot() const {
    return boost::json::object{{"balance", balance}};
  }

  caf::error from_snapshot(const boost::json::value& json) {
    auto* o = json.if_object();
    if (!o || !o->contains("balance") || !o->at("balance").is_int64())
      return aether::make_persistence_error(
        aether::persistence_error::corrupt_data, "account: no balance");
    balance = o->at("balance").as_int64();
    return caf::none;
  }
};

// 2. The actor: ordinary CAF handlers that persist events.
class account_actor : public aether::persistent_actor<account> {
public:
  using persistent_actor::persistent_actor;

  caf::behavior make_commands() override {
    return {
      [this](deposit_atom, int64_t amount) -> caf::result<int64_t> {
        if (amount <= 0)
          return invalid("amount: must be positive");
        return persist("deposited", {{"amount", amount}}, [this] {
          return state().balance;
        });
      },
      [this](withdraw_atom, int64_t amount) -> caf::result<int64_t> {
        if (amount <= 0 || amount > state().balance)
          return invalid("amount: must be positive and covered");
        return persist("withdrawn", {{"amount", amount}}, [this] {
          return state().balance;
        });
      },
      [this](balance_atom) {
        return state().balance;
      },
    };
  }

private:
  static caf::error invalid(std::string what) {
    return aether::make_persistence_error(
      aether::persistence_error::invalid_argument, std::move(what));
  }
};
