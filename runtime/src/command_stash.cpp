#include "aether/runtime/command_stash.hpp"

#include <iterator>
#include <utility>

namespace aether {

void command_stash::push_back(caf::mailbox_element& x) {
  xs_.push_back(caf::make_mailbox_element(std::move(x.sender), x.mid,
                                          std::move(x.stages),
                                          x.move_content_to_message()));
}

caf::mailbox_element_ptr command_stash::pop_front() {
  auto x = std::move(xs_.front());
  xs_.pop_front();
  return x;
}

void command_stash::put_back(std::vector<caf::mailbox_element_ptr>& skipped) {
  xs_.insert(xs_.begin(), std::make_move_iterator(skipped.begin()),
             std::make_move_iterator(skipped.end()));
  skipped.clear();
}

} // namespace aether
