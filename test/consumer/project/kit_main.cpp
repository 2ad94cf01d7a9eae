// The installed test kit, linked as aether::testkit: one command through
// behavior_testkit and a failure policy, checked without a test framework.
#include "counter.hpp"

#include <aether/testkit/behavior_testkit.hpp>
#include <caf/all.hpp>
#include <cstdio>

int main() {
  aether::testkit::behavior_testkit<counter_actor> kit{"c-1"};
  auto r = kit.run<int64_t>(add_atom::value, int64_t{3});
  if (!r.reply || *r.reply != 3 || r.events.size() != 1) {
    std::puts("kit: the command did not store one event and answer 3");
    return 1;
  }
  kit.store().set(aether::testkit::store_operation::append,
                  aether::testkit::failure_policy::fail().times(1));
  if (kit.run<int64_t>(add_atom::value, int64_t{1}).reply) {
    std::puts("kit: the failure policy did not fail the append");
    return 1;
  }
  if (kit.restart().state.value != 3) {
    std::puts("kit: restart did not recover 3");
    return 1;
  }
  std::puts("kit: ok");
  return 0;
}
