#include "aether/cluster/lease.hpp"

#include "aether/core/error.hpp"

#include <boost/json.hpp>

namespace aether {

namespace {

caf::error corrupt(const std::string& what) {
  return make_persistence_error(persistence_error::corrupt_data, what);
}

caf::expected<boost::json::object> parse_object(const std::string& json,
                                                const char* what) {
  boost::json::error_code ec;
  auto v = boost::json::parse(json, ec);
  if (ec || !v.is_object())
    return corrupt(std::string{what} + ": not a JSON object");
  return std::move(v.as_object());
}

caf::error string_field(const boost::json::object& o, const char* what,
                        const char* field, std::string& out) {
  auto* v = o.if_contains(field);
  if (!v || !v->is_string())
    return corrupt(std::string{what} + ": field \"" + field
                   + "\" must be a string");
  out = std::string{v->as_string()};
  return caf::none;
}

caf::error number_field(const boost::json::object& o, const char* what,
                        const char* field, uint64_t& out) {
  auto* v = o.if_contains(field);
  if (v && v->is_uint64())
    out = v->as_uint64();
  else if (v && v->is_int64() && v->as_int64() >= 0)
    out = static_cast<uint64_t>(v->as_int64());
  else
    return corrupt(std::string{what} + ": field \"" + field
                   + "\" must be a non-negative integer");
  return caf::none;
}

} // namespace

std::string encode(const member_record& x) {
  return boost::json::serialize(boost::json::object{
    {"node", x.node},
    {"incarnation", x.incarnation},
    {"shard_count", x.shard_count},
  });
}

std::string encode(const shard_lease& x) {
  return boost::json::serialize(boost::json::object{
    {"node", x.node},
    {"incarnation", x.incarnation},
    {"epoch", x.epoch},
  });
}

caf::expected<member_record> decode_member(const std::string& json) {
  auto o = parse_object(json, "member record");
  if (!o)
    return o.error();
  member_record x;
  uint64_t shards = 0;
  if (auto err = string_field(*o, "member record", "node", x.node))
    return err;
  if (auto err = string_field(*o, "member record", "incarnation",
                              x.incarnation))
    return err;
  if (auto err = number_field(*o, "member record", "shard_count", shards))
    return err;
  x.shard_count = static_cast<uint32_t>(shards);
  return x;
}

caf::expected<shard_lease> decode_lease(const std::string& json) {
  auto o = parse_object(json, "shard lease");
  if (!o)
    return o.error();
  shard_lease x;
  if (auto err = string_field(*o, "shard lease", "node", x.node))
    return err;
  if (auto err = string_field(*o, "shard lease", "incarnation", x.incarnation))
    return err;
  if (auto err = number_field(*o, "shard lease", "epoch", x.epoch))
    return err;
  return x;
}

} // namespace aether
