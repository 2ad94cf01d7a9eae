#include "aether/persistence/actor_snapshot.hpp"

namespace aether {

bool operator==(const actor_snapshot& x, const actor_snapshot& y) {
  return x.actor_id == y.actor_id && x.version == y.version
         && x.state == y.state && x.time == y.time
         && x.schema_version == y.schema_version;
}

bool operator!=(const actor_snapshot& x, const actor_snapshot& y) {
  return !(x == y);
}

} // namespace aether
