#include "aether/projections/offset_store.hpp"

namespace aether {

offset_store::~offset_store() = default;

} // namespace aether
