#pragma once

#include <caf/error.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>
#include <cstdint>
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
};

std::string to_string(runtime_error x);

caf::error make_runtime_error(runtime_error code, std::string description);

bool is(const caf::error& err, runtime_error code);

} // namespace aether

CAF_ERROR_CODE_ENUM(aether::runtime_error, "aether_rt")
