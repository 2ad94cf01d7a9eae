#pragma once

// A response handler for a request whose answer can be any message: CAF
// 0.17's `then` needs the answer's types, the router forwards whatever the
// entity answers (a value, several, or an error) unchanged.

#include <caf/behavior.hpp>
#include <caf/detail/behavior_impl.hpp>
#include <caf/detail/invoke_result_visitor.hpp>
#include <caf/message.hpp>
#include <caf/sec.hpp>
#include <functional>

namespace aether {

class any_response : public caf::detail::behavior_impl {
public:
  using handler = std::function<void(caf::message&)>;

  static caf::behavior make(handler f) {
    return caf::behavior{
      caf::behavior::impl_ptr{caf::make_counted<any_response>(std::move(f))}};
  }

  explicit any_response(handler f) : f_(std::move(f)) {
    // nop
  }

  caf::match_case::result invoke(caf::detail::invoke_result_visitor& v,
                                 caf::type_erased_tuple& xs) override {
    auto msg = caf::message::copy(xs);
    f_(msg);
    v();
    return caf::match_case::match;
  }

private:
  handler f_;
};

/// True when `answer` is CAF's reply to a request whose receiver stopped
/// before it took the message (`sec::request_receiver_down`): the request
/// never ran and may be sent again.
inline bool never_ran(const caf::message& answer) {
  return answer.size() == 1 && answer.match_element<caf::error>(0)
         && answer.get_as<caf::error>(0) == caf::sec::request_receiver_down;
}

} // namespace aether
