#include "aether/core/error.hpp"

#include <caf/atom.hpp>
#include <caf/message.hpp>
#include <caf/to_string.hpp>

namespace aether {

std::string to_string(persistence_error x) {
  switch (x) {
    case persistence_error::none: return "none";
    case persistence_error::version_conflict: return "version_conflict";
    case persistence_error::invalid_argument: return "invalid_argument";
    case persistence_error::not_found: return "not_found";
    case persistence_error::unavailable: return "unavailable";
    case persistence_error::unknown_outcome: return "unknown_outcome";
    case persistence_error::corrupt_data: return "corrupt_data";
    case persistence_error::store_failure: return "store_failure";
    case persistence_error::not_authorized: return "not_authorized";
  }
  return "persistence_error(" + std::to_string(static_cast<int>(x)) + ")";
}

caf::error make_persistence_error(persistence_error code,
                                  std::string description) {
  return caf::make_error(code, std::move(description));
}

caf::error invalid_field(const std::string& field, const std::string& rule) {
  return make_persistence_error(persistence_error::invalid_argument,
                                field + ": " + rule);
}

caf::error make_version_conflict(const std::string& actor_id,
                                 int64_t attempted_version,
                                 int64_t current_version) {
  std::string text = "version conflict: actor \"" + actor_id + "\" has version "
                     + std::to_string(current_version)
                     + ", cannot save version "
                     + std::to_string(attempted_version);
  return caf::make_error(persistence_error::version_conflict, std::move(text),
                         actor_id, attempted_version, current_version);
}

std::optional<version_conflict_info>
get_version_conflict(const caf::error& err) {
  if (!is(err, persistence_error::version_conflict))
    return std::nullopt;
  auto& ctx = err.context();
  if (!ctx.match_elements<std::string, std::string, int64_t, int64_t>())
    return std::nullopt;
  return version_conflict_info{ctx.get_as<std::string>(1),
                               ctx.get_as<int64_t>(2), ctx.get_as<int64_t>(3)};
}

bool is(const caf::error& err, persistence_error code) {
  return err.category() == caf::atom("persist")
         && err.code() == static_cast<uint8_t>(code);
}

std::string describe(const caf::error& err) {
  if (!err)
    return "no error";
  auto& ctx = err.context();
  if (ctx.size() > 0 && ctx.match_element<std::string>(0))
    return ctx.get_as<std::string>(0);
  return caf::to_string(err);
}

namespace {

std::string render_persistence(uint8_t code, caf::atom_value,
                               const caf::message& ctx) {
  return render_error(to_string(static_cast<persistence_error>(code)), ctx);
}

} // namespace

std::string render_error(std::string code_name, const caf::message& ctx) {
  if (ctx.size() > 0 && ctx.match_element<std::string>(0)) {
    code_name += ": ";
    code_name += ctx.get_as<std::string>(0);
  }
  return code_name;
}

caf::error prefix_error(const std::string& what, const caf::error& err) {
  if (!err || err.category() != caf::atom("persist"))
    return err;
  return make_persistence_error(static_cast<persistence_error>(err.code()),
                                what + ": " + describe(err));
}

void add_error_categories(caf::actor_system_config& cfg) {
  cfg.add_error_category(caf::atom("persist"), render_persistence);
}

} // namespace aether
