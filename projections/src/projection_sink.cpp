#include "projection_sink.hpp"

namespace aether::detail {

projection_sink::~projection_sink() = default;

} // namespace aether::detail
