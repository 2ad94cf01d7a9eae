#pragma once

#include <caf/error.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>
#include <cstdint>
#include <exception>
#include <string>

namespace aether {

/// The runtime's error codes (category atom `aether_rt`). Like every aether
/// error, each carries a description; `aether::describe` returns it.
enum class runtime_error : uint8_t {
  none = 0,
  /// Recovery failed (the description says why; the store's error follows).
  recovery_failed,
  /// A recovery step made no progress within the configured time.
  recovery_timeout,
  /// `persist` was called while another persist of the same command was in
  /// flight (use `persist_all` to store several events).
  persist_in_flight,
  /// The store did not answer a persist within the configured time; the
  /// events may or may not have been stored.
  persist_timeout,
  /// User code (a state's `apply` or `from_snapshot`, a reply function)
  /// threw; the description names the actor, the event or snapshot, and the
  /// exception's text.
  user_code_failed,
  /// The actor stopped before it could answer this request (it was killed,
  /// quit, or failed); for a persist in flight the events may or may not
  /// be stored.
  actor_stopped,
  /// A configuration option has a value that breaks its rule (the
  /// description names the option and the rule).
  invalid_option,
};

std::string to_string(runtime_error x);

caf::error make_runtime_error(runtime_error code, std::string description);

/// `user_code_failed` for user code that threw: "<what> threw: <the
/// exception's text>" (or "a non-standard exception").
caf::error make_user_code_error(const std::string& what, std::exception_ptr ex);

bool is(const caf::error& err, runtime_error code);

} // namespace aether

CAF_ERROR_CODE_ENUM(aether::runtime_error, "aether_rt")
