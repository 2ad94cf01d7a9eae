#pragma once

#include "aether/persistence/event.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace aether::detail {

/// Decodes the body of one of jetstream_store's event messages: a single
/// event's JSON, or a JSON array of events (a batch). Appends the events
/// that decode, in order, to `out` and returns why the body (or its first
/// bad element) does not decode; empty when everything decodes.
std::string decode_batch(std::string_view body, std::vector<event>& out);

} // namespace aether::detail
