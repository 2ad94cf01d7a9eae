#include "aether/runtime/command_stash.hpp"
#include "catch.hpp"

#include <caf/mailbox_element.hpp>
#include <caf/message.hpp>
#include <caf/message_id.hpp>
#include <deque>
#include <vector>

using aether::command_stash;

namespace {

caf::mailbox_element_ptr element(int x) {
  return caf::make_mailbox_element(nullptr, caf::make_message_id(), {},
                                   caf::make_message(x));
}

int value_of(const caf::mailbox_element& x) {
  return x.content().get_as<int>(0);
}

void push(command_stash& s, int x) {
  auto e = element(x);
  s.push_back(*e);
}

} // namespace

TEST_CASE("command stash: arrival order, skipped ones back in front") {
  command_stash s;
  CHECK(s.empty());
  push(s, 1);
  push(s, 2);
  push(s, 3);
  CHECK(s.size() == 3);
  CHECK(value_of(s.front()) == 1);
  // The behavior skips 1 and 2 (say, waiting for a response) ...
  std::vector<caf::mailbox_element_ptr> skipped;
  skipped.push_back(s.pop_front());
  skipped.push_back(s.pop_front());
  CHECK(value_of(s.front()) == 3);
  // ... and they go back in front of 3, in their order.
  s.put_back(skipped);
  CHECK(skipped.empty());
  std::vector<int> order;
  while (!s.empty())
    order.push_back(value_of(*s.pop_front()));
  CHECK(order == std::vector<int>{1, 2, 3});
}

TEST_CASE("command stash: clear hands out every message, oldest first") {
  command_stash s;
  push(s, 7);
  push(s, 8);
  std::vector<int> seen;
  s.clear([&](caf::mailbox_element& x) {
    seen.push_back(value_of(x));
  });
  CHECK(seen == std::vector<int>{7, 8});
  CHECK(s.empty());
}
