// libFuzzer target: the snapshot decoder.
#include "aether/persistence/json_codec.hpp"
#include "aether/persistence/validation.hpp"
#include "json_equal.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  auto s = aether::json_codec::decode_snapshot(text);
  if (!s)
    return 0;
  if (aether::validate_snapshot(*s))
    return 0; // refused: stores never write it, so no round trip is owed
  auto again
    = aether::json_codec::decode_snapshot(aether::json_codec::encode(*s));
  if (!again || again->actor_id != s->actor_id || again->version != s->version
      || !json_equal(again->state, s->state))
    std::abort();
  return 0;
}
