#include "aether/tool/export_format.hpp"

#include "aether/core/error.hpp"
#include "aether/persistence/json_codec.hpp"

#include <boost/json/serialize.hpp>

namespace aether::tool::export_format {

std::string header() {
  return "{\"aetherExport\":" + std::to_string(version) + "}";
}

std::string line(const event& ev) {
  return "{\"event\":" + json_codec::encode(ev) + "}";
}

std::string line(const actor_snapshot& s) {
  // A store's position means nothing in another store.
  auto copy = s;
  copy.store_position = 0;
  return "{\"snapshot\":" + json_codec::encode(copy) + "}";
}

caf::expected<record> decode(std::string_view text) {
  auto bad = [](const std::string& why) {
    return make_persistence_error(persistence_error::invalid_argument, why);
  };
  auto parsed = json_codec::parse(text);
  if (!parsed)
    return bad("not JSON: " + describe(parsed.error()));
  auto* obj = parsed->if_object();
  if (!obj || obj->size() != 1)
    return bad("must be an object with one field: \"aetherExport\", "
               "\"event\" or \"snapshot\"");
  auto& [key, value] = *obj->begin();
  if (key == "aetherExport") {
    if (!value.is_int64() || value.as_int64() != version)
      return bad("aetherExport: must be " + std::to_string(version)
                 + " (the format this build reads)");
    return header_record{version};
  }
  if (key == "event") {
    auto ev = json_codec::event_from_json(value);
    if (!ev)
      return bad("event: " + describe(ev.error()));
    return record{std::move(*ev)};
  }
  if (key == "snapshot") {
    auto s = json_codec::snapshot_from_json(value);
    if (!s)
      return bad("snapshot: " + describe(s.error()));
    return record{std::move(*s)};
  }
  return bad("unknown record \"" + std::string{key}
             + "\" (expected \"event\" or \"snapshot\")");
}

} // namespace aether::tool::export_format
