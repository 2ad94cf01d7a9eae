// libFuzzer target: the cross-node envelope decoder (bytes from NATS).
// Anything it accepts has a valid namespace and a valid event.
#include "aether/nats_bridge/nats_bridge.hpp"
#include "aether/persistence/validation.hpp"
#include "aether/runtime/subject_pattern.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  auto env = aether::decode_envelope(text);
  if (!env)
    return 0;
  if (env->node_id.empty() || aether::validate_namespace(env->ns)
      || aether::validate_event(env->ev))
    std::abort(); // accepted something the rules refuse
  return 0;
}
