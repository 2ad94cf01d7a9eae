#pragma once

#include "aether/core/error.hpp"

#include <caf/error.hpp>
#include <exception>
#include <string>

namespace aether::detail {

/// Runs user code that returns a `caf::error`; an exception becomes a
/// `store_failure` naming `what` and the exception's message.
template <class F>
caf::error contained_call(const std::string& what, F&& f) noexcept {
  try {
    return f();
  } catch (const std::exception& x) {
    return make_persistence_error(persistence_error::store_failure,
                                  what + " threw: " + x.what());
  } catch (...) {
    return make_persistence_error(persistence_error::store_failure,
                                  what + " threw");
  }
}

} // namespace aether::detail
