// libFuzzer target: the write path. Arbitrary bytes become the strings of an
// event (type, actor id, command id, a metadata entry, a data key and string)
// and of a snapshot's state; whatever validation + encoding accepts (what a
// store writes) must decode to itself: an accepted write always decodes, as
// prepared (ids and times filled in, tags sorted and deduplicated).
#include "aether/persistence/json_codec.hpp"
#include "aether/persistence/validation.hpp"
#include "json_equal.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

/// Splits the input at 0xFF bytes into at most `n` fields.
std::vector<std::string> fields(const uint8_t* data, size_t size, size_t n) {
  std::vector<std::string> out(n);
  size_t k = 0;
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == 0xFF && k + 1 < n)
      ++k;
    else
      out[k] += static_cast<char>(data[i]);
  }
  return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto f = fields(data, size, 7);
  aether::event ev;
  ev.type = f[0].empty() ? std::string{"t"} : f[0];
  ev.actor_id = f[1].empty() ? std::string{"a"} : f[1];
  ev.command_id = f[2];
  if (!f[3].empty())
    ev.metadata[f[3]] = f[4];
  ev.version = 1;
  ev.data = boost::json::object{{f[5], f[6]}, {"n", 1}};
  std::vector<aether::event> batch{ev};
  aether::store_limits limits;
  auto encoded = aether::prepare_events(batch, limits);
  if (encoded) {
    auto back = aether::json_codec::decode_event(encoded->front());
    if (!back || back->id != batch[0].id || back->type != ev.type
        || back->actor_id != ev.actor_id || back->command_id != ev.command_id
        || back->metadata != batch[0].metadata || back->version != ev.version
        || !json_equal(back->data, ev.data) || back->time != batch[0].time)
      std::abort(); // accepted but does not decode to itself
  }
  aether::actor_snapshot snap;
  snap.actor_id = ev.actor_id;
  snap.version = 1;
  snap.state = boost::json::object{{f[5], boost::json::array{f[6], f[0]}}};
  auto text = aether::prepare_snapshot(snap, limits);
  if (text) {
    auto back = aether::json_codec::decode_snapshot(*text);
    if (!back || back->actor_id != snap.actor_id
        || back->version != snap.version
        || !json_equal(back->state, snap.state))
      std::abort();
  }
  return 0;
}
