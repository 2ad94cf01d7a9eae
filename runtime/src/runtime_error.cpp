#include "aether/runtime/runtime_error.hpp"

#include <caf/atom.hpp>
#include <caf/message.hpp>

namespace aether {

std::string to_string(runtime_error x) {
  switch (x) {
    case runtime_error::none: return "none";
    case runtime_error::recovery_failed: return "recovery_failed";
    case runtime_error::recovery_timeout: return "recovery_timeout";
    case runtime_error::persist_in_flight: return "persist_in_flight";
    case runtime_error::persist_timeout: return "persist_timeout";
    case runtime_error::user_code_failed: return "user_code_failed";
    case runtime_error::actor_stopped: return "actor_stopped";
    case runtime_error::invalid_option: return "invalid_option";
  }
  return "runtime_error(" + std::to_string(static_cast<int>(x)) + ")";
}

caf::error make_runtime_error(runtime_error code, std::string description) {
  return caf::make_error(code, std::move(description));
}

caf::error make_user_code_error(const std::string& what,
                                std::exception_ptr ex) {
  std::string text = "a non-standard exception";
  try {
    if (ex)
      std::rethrow_exception(ex);
  } catch (const std::exception& e) {
    text = e.what();
  } catch (...) {
    // keep the generic text
  }
  return make_runtime_error(runtime_error::user_code_failed,
                            what + " threw: " + text);
}

bool is(const caf::error& err, runtime_error code) {
  return err.category() == caf::atom("aether_rt")
         && err.code() == static_cast<uint8_t>(code);
}

} // namespace aether
