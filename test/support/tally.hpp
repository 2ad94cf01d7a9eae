#pragma once

// A small persistent actor used by the runtime tests: its state is the sum
// of the numbers it stored and the order in which they arrived.

#include "aether/core/error.hpp"
#include "aether/runtime/persistent_actor.hpp"

#include <boost/json.hpp>
#include <caf/atom.hpp>
#include <caf/result.hpp>
#include <cstdint>
#include <vector>

namespace aether::test {

using add_atom = caf::atom_constant<caf::atom("add")>;
using add_many_atom = caf::atom_constant<caf::atom("add_many")>;
using get_atom = caf::atom_constant<caf::atom("get")>;
using seen_atom = caf::atom_constant<caf::atom("seen")>;
using stats_atom = caf::atom_constant<caf::atom("stats")>;
using snap_atom = caf::atom_constant<caf::atom("snap")>;
using close_atom = caf::atom_constant<caf::atom("close")>;
using bad_atom = caf::atom_constant<caf::atom("bad")>;

struct tally {
  int64_t sum = 0;
  int64_t count = 0;
  /// The last numbers applied, in order (at most `keep`).
  std::vector<int64_t> seen;
  static constexpr size_t keep = 64;

  void apply(const event& e) {
    auto n = e.data.at("n").as_int64();
    sum += n;
    ++count;
    seen.push_back(n);
    if (seen.size() > keep)
      seen.erase(seen.begin());
  }

  boost::json::value to_snapshot() const {
    boost::json::array xs(seen.begin(), seen.end());
    return boost::json::object{{"sum", sum}, {"count", count}, {"seen", xs}};
  }

  caf::error from_snapshot(const boost::json::value& v) {
    auto* o = v.if_object();
    if (!o || !o->contains("sum") || !o->contains("count")
        || !o->contains("seen"))
      return make_persistence_error(persistence_error::corrupt_data,
                                    "tally: missing field");
    sum = o->at("sum").as_int64();
    count = o->at("count").as_int64();
    seen.clear();
    for (auto& x : o->at("seen").as_array())
      seen.push_back(x.as_int64());
    return caf::none;
  }

  bool operator==(const tally& y) const {
    return sum == y.sum && count == y.count && seen == y.seen;
  }
};

class tally_actor : public persistent_actor<tally> {
public:
  using persistent_actor::persistent_actor;

  caf::behavior make_commands() override {
    return {
      [this](add_atom, int64_t n) -> caf::result<int64_t> {
        return persist("added", boost::json::object{{"n", n}}, [this] {
          return state().sum;
        });
      },
      [this](add_atom, const command_context& cmd,
             int64_t n) -> caf::result<int64_t> {
        return persist(cmd, "added", boost::json::object{{"n", n}}, [this] {
          return state().sum;
        });
      },
      [this](add_many_atom, std::vector<int64_t> ns) -> caf::result<int64_t> {
        std::vector<event_draft> drafts;
        for (auto n : ns)
          drafts.push_back({"added", boost::json::object{{"n", n}}, {}});
        return persist_all(std::move(drafts), [this] {
          return state().sum;
        });
      },
      [this](close_atom) -> caf::result<int64_t> {
        return persist("closed", boost::json::object{{"n", 0}}, [this] {
          return version();
        });
      },
      [this](bad_atom) -> caf::result<int64_t> {
        // An empty event type breaks a validation rule.
        return persist("", boost::json::object{{"n", 1}}, [this] {
          return version();
        });
      },
      [this](get_atom) {
        return state().sum;
      },
      [this](seen_atom) {
        return state().seen;
      },
      [this](stats_atom) {
        return std::vector<int64_t>{version(), recovered_from_snapshot(),
                                    events_replayed(), state().count};
      },
      [this](snap_atom) {
        save_snapshot();
        return version();
      },
    };
  }

  void recovery_completed(int64_t v) override {
    recovered_versions.push_back(v);
  }

  std::vector<int64_t> recovered_versions;
};

} // namespace aether::test
