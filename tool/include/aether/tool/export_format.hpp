#pragma once

#include "aether/persistence/actor_snapshot.hpp"
#include "aether/persistence/event.hpp"

#include <caf/expected.hpp>
#include <string>
#include <string_view>
#include <variant>

namespace aether::tool {

/// The `aether export` format: JSON lines. The first line is the header
/// `{"aetherExport":1}`; then one line per record, `{"event":{...}}` (the
/// event in the wire format of `json_codec`) or `{"snapshot":{...}}`, each
/// actor's events in version order before its snapshots.
namespace export_format {

constexpr int version = 1;

std::string header();
std::string line(const event& ev);
std::string line(const actor_snapshot& s);

struct header_record {
  int version = 0;
};

using record = std::variant<header_record, event, actor_snapshot>;

/// Decodes one line; `invalid_argument` names the field and the rule.
caf::expected<record> decode(std::string_view text);

} // namespace export_format

} // namespace aether::tool
