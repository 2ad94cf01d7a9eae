#pragma once

#include "aether/persistence/event.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace aether {

/// An event (or a record that does not decode) a projection gave up on
/// after `projection_options::dead_letter_after` failed attempts; the
/// projection moves on past it and counts it.
struct dead_letter {
  std::string projection;
  size_t worker = 0;
  /// Its position in the store's global order.
  int64_t position = 0;
  /// The event, in its current shape; none for a record that does not
  /// decode (then `raw` holds its bytes).
  std::optional<event> ev;
  std::string raw;
  /// The last failure.
  std::string reason;
  size_t attempts = 0;
};

} // namespace aether
