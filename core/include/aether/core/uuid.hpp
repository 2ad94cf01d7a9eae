#pragma once

#include <string>

namespace aether {

/// Returns a random (version 4) UUID in its canonical 36-character form.
std::string make_uuid();

} // namespace aether
