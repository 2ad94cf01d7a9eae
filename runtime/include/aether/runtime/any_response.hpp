#pragma once

// A response handler for a request whose answer can be any message: CAF
// 0.17's `then` needs the answer's types, the router forwards whatever the
// entity answers (a value, several, or an error) unchanged.

#include <caf/behavior.hpp>
#include <caf/detail/behavior_impl.hpp>
#include <caf/detail/invoke_result_visitor.hpp>
#include <caf/message.hpp>
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

} // namespace aether
