#include "aether/persistence/validation.hpp"

#include "aether/core/error.hpp"
#include "aether/core/uuid.hpp"
#include "aether/persistence/json_codec.hpp"

#include <boost/json/value.hpp>
#include <cmath>

namespace aether {

namespace {

caf::error invalid(std::string text) {
  return make_persistence_error(persistence_error::invalid_argument,
                                std::move(text));
}

/// The offset of the first byte that breaks UTF-8 (overlong forms,
/// surrogates and code points above U+10FFFF included), or npos.
size_t utf8_error(std::string_view s) {
  size_t i = 0;
  auto n = s.size();
  auto at = [&](size_t k) {
    return static_cast<unsigned char>(s[k]);
  };
  auto cont = [&](size_t k) {
    return k < n && (at(k) & 0xC0) == 0x80;
  };
  while (i < n) {
    auto c = at(i);
    if (c < 0x80) {
      ++i;
    } else if (c >= 0xC2 && c <= 0xDF) {
      if (!cont(i + 1))
        return i;
      i += 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      if (!cont(i + 1) || !cont(i + 2))
        return i;
      auto c1 = at(i + 1);
      if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F))
        return i; // overlong, or a UTF-16 surrogate
      i += 3;
    } else if (c >= 0xF0 && c <= 0xF4) {
      if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3))
        return i;
      auto c1 = at(i + 1);
      if ((c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 > 0x8F))
        return i; // overlong, or above U+10FFFF
      i += 4;
    } else {
      return i;
    }
  }
  return std::string_view::npos;
}

caf::error check_utf8(std::string_view s, const std::string& field) {
  auto bad = utf8_error(s);
  if (bad == std::string_view::npos)
    return caf::none;
  return invalid(field + ": must be valid UTF-8 (byte "
                 + std::to_string(static_cast<unsigned char>(s[bad]))
                 + " at offset " + std::to_string(bad) + ")");
}

/// Walks a JSON value without recursion (hostile inputs nest deeply):
/// depth, finite numbers, and UTF-8 in every key and string.
caf::error check_json(const boost::json::value& root, const char* field) {
  struct frame {
    const boost::json::value* v;
    size_t depth;
  };
  std::vector<frame> stack{{&root, 1}};
  while (!stack.empty()) {
    auto [v, depth] = stack.back();
    stack.pop_back();
    if (depth > max_data_depth)
      return invalid(std::string{field} + ": nesting deeper than "
                     + std::to_string(max_data_depth) + " levels");
    switch (v->kind()) {
      case boost::json::kind::double_:
        if (!std::isfinite(v->get_double()))
          return invalid(std::string{field}
                         + ": numbers must be finite (no NaN or infinity)");
        break;
      case boost::json::kind::string:
        if (auto err = check_utf8(v->get_string(),
                                  std::string{field} + " (a string)"))
          return err;
        break;
      case boost::json::kind::object:
        for (auto& kv : v->get_object()) {
          if (auto err = check_utf8(kv.key(), std::string{field} + " (a key)"))
            return err;
          stack.push_back({&kv.value(), depth + 1});
        }
        break;
      case boost::json::kind::array:
        for (auto& x : v->get_array())
          stack.push_back({&x, depth + 1});
        break;
      default: break;
    }
  }
  return caf::none;
}

} // namespace

caf::error validate_actor_id(std::string_view id) {
  if (id.empty())
    return invalid("actor_id: must not be empty");
  if (id.size() > max_actor_id_bytes)
    return invalid("actor_id: must be at most "
                   + std::to_string(max_actor_id_bytes) + " bytes (has "
                   + std::to_string(id.size()) + ")");
  for (size_t i = 0; i < id.size(); ++i) {
    auto c = static_cast<unsigned char>(id[i]);
    if (c <= 0x20 || c >= 0x7F)
      return invalid("actor_id: must be printable ASCII without whitespace "
                     "(byte "
                     + std::to_string(c) + " at offset " + std::to_string(i)
                     + ")");
    if (c == '*' || c == '>')
      return invalid("actor_id: must not contain '*' or '>' (offset "
                     + std::to_string(i) + ")");
  }
  return caf::none;
}

caf::error validate_tag(std::string_view tag) {
  if (tag.empty() || tag.size() > max_tag_bytes)
    return invalid("metadata[tags]: a tag must be 1 to "
                   + std::to_string(max_tag_bytes) + " bytes (\""
                   + std::string{tag} + "\")");
  for (size_t i = 0; i < tag.size(); ++i) {
    auto c = static_cast<unsigned char>(tag[i]);
    if (c <= 0x20 || c >= 0x7F || c == ',')
      return invalid("metadata[tags]: a tag must be printable ASCII without "
                     "whitespace or ',' (byte "
                     + std::to_string(c) + " at offset " + std::to_string(i)
                     + " of \"" + std::string{tag} + "\")");
  }
  return caf::none;
}

namespace {

caf::error validate_tags(const event& ev) {
  auto i = ev.metadata.find(metadata_keys::tags);
  if (i == ev.metadata.end())
    return caf::none;
  auto& joined = i->second;
  size_t start = 0;
  for (;;) {
    auto end = joined.find(',', start);
    auto tag = std::string_view{joined}.substr(
      start, end == std::string::npos ? std::string::npos : end - start);
    if (auto err = validate_tag(tag))
      return err;
    if (end == std::string::npos)
      return caf::none;
    start = end + 1;
  }
}

} // namespace

caf::error validate_event(const event& ev) {
  if (auto err = validate_actor_id(ev.actor_id))
    return err;
  if (ev.type.empty())
    return invalid("type: must not be empty");
  if (ev.type.size() > max_event_type_bytes)
    return invalid("type: must be at most "
                   + std::to_string(max_event_type_bytes) + " bytes");
  // Every stored string is UTF-8, so that an accepted write always decodes.
  if (auto err = check_utf8(ev.type, "type"))
    return err;
  if (auto err = check_utf8(ev.id, "id"))
    return err;
  if (auto err = check_utf8(ev.command_id, "command_id"))
    return err;
  for (auto& [key, value] : ev.metadata) {
    if (auto err = check_utf8(key, "metadata (a key)"))
      return err;
    if (auto err = check_utf8(value, "metadata[" + key + "]"))
      return err;
  }
  if (auto err = validate_tags(ev))
    return err;
  if (ev.version <= 0)
    return invalid("version: must be positive (is " + std::to_string(ev.version)
                   + ")");
  if (!ev.data.is_object())
    return invalid("data: must be a JSON object");
  return check_json(ev.data, "data");
}

caf::error validate_snapshot(const actor_snapshot& s) {
  if (auto err = validate_actor_id(s.actor_id))
    return err;
  if (s.version <= 0)
    return invalid("version: must be positive (is " + std::to_string(s.version)
                   + ")");
  return check_json(s.state, "state");
}

caf::expected<std::vector<std::string>>
prepare_events(std::vector<event>& batch, const store_limits& limits) {
  if (batch.empty())
    return invalid("events: batch must not be empty");
  std::vector<std::string> encoded;
  encoded.reserve(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    auto& ev = batch[i];
    if (ev.id.empty())
      ev.id = make_uuid();
    if (ev.time.time_since_epoch().count() == 0)
      ev.time = now();
    if (auto err = validate_event(ev))
      return err;
    // Tags are stored sorted and without duplicates, whoever set them, so
    // every store indexes and matches them alike.
    if (ev.metadata.count(metadata_keys::tags) > 0)
      ev.set_tags(ev.tags());
    if (i > 0) {
      if (ev.actor_id != batch[0].actor_id)
        return invalid("actor_id: all events of a batch must belong to one "
                       "actor");
      if (ev.version != batch[i - 1].version + 1)
        return invalid("version: versions of a batch must be contiguous ("
                       + std::to_string(batch[i - 1].version) + " then "
                       + std::to_string(ev.version) + ")");
    }
    auto text = json_codec::encode(ev);
    if (text.size() > limits.max_event_bytes)
      return invalid("event: encoded size " + std::to_string(text.size())
                     + " bytes exceeds the limit of "
                     + std::to_string(limits.max_event_bytes) + " bytes");
    encoded.push_back(std::move(text));
  }
  return encoded;
}

caf::expected<std::string> prepare_snapshot(actor_snapshot& s,
                                            const store_limits& limits) {
  if (s.time.time_since_epoch().count() == 0)
    s.time = now();
  if (auto err = validate_snapshot(s))
    return err;
  auto text = json_codec::encode(s);
  if (text.size() > limits.max_snapshot_bytes)
    return invalid("snapshot: encoded size " + std::to_string(text.size())
                   + " bytes exceeds the limit of "
                   + std::to_string(limits.max_snapshot_bytes) + " bytes");
  return text;
}

} // namespace aether
