// libFuzzer target: the event decoder (JSON text from a store or the wire).
// A decoded event that passes validation (what stores write) re-encodes to
// JSON that decodes to the same event; nothing crashes or overflows.
#include "aether/persistence/json_codec.hpp"
#include "aether/persistence/validation.hpp"
#include "json_equal.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  auto ev = aether::json_codec::decode_event(text);
  if (!ev)
    return 0;
  if (aether::validate_event(*ev))
    return 0; // refused: stores never write it, so no round trip is owed
  auto again
    = aether::json_codec::decode_event(aether::json_codec::encode(*ev));
  if (!again || again->id != ev->id || again->version != ev->version
      || again->type != ev->type || again->actor_id != ev->actor_id
      || !json_equal(again->data, ev->data) || again->time != ev->time)
    std::abort(); // the codec must round-trip what it accepted
  return 0;
}
