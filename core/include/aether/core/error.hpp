#pragma once

#include <caf/actor_system_config.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>
#include <cstdint>
#include <optional>
#include <string>

namespace aether {

/// The persistence layer's error codes, used through `caf::error` and
/// `caf::expected` (category atom `persist`).
///
/// Every error made with `make_persistence_error` carries a human-readable
/// description as the first element of its context; `describe` returns it.
enum class persistence_error : uint8_t {
  none = 0,
  /// Another writer stored the version first (optimistic concurrency).
  /// Context: (description, actor_id, attempted_version, current_version).
  version_conflict,
  /// The input breaks a rule; the description names the field and the rule.
  invalid_argument,
  /// The requested item does not exist.
  not_found,
  /// The store cannot be reached (or is busy past its timeout); nothing was
  /// written.
  unavailable,
  /// A write may or may not have landed (e.g. the connection dropped after
  /// sending); re-read the store to find out.
  unknown_outcome,
  /// Stored data does not decode.
  corrupt_data,
  /// The store failed in a way not covered above (I/O error, full disk).
  store_failure,
  /// The server refused the credentials, or the permission for the
  /// operation; retrying with the same credentials will not help.
  not_authorized,
};

/// Returns the enumerator's name, e.g. "version_conflict".
std::string to_string(persistence_error x);

/// Builds an error with a description (stored as the context).
caf::error make_persistence_error(persistence_error code,
                                  std::string description);

/// The error of a command that refuses its input: `invalid_argument` with
/// "`field`: `rule`", e.g. `invalid_field("amount", "must be positive")`.
caf::error invalid_field(const std::string& field, const std::string& rule);

/// Builds a `version_conflict` whose description reads
/// `version conflict: actor "X" has version 5, cannot save version 5`.
caf::error make_version_conflict(const std::string& actor_id,
                                 int64_t attempted_version,
                                 int64_t current_version);

/// The details a `version_conflict` carries.
struct version_conflict_info {
  std::string actor_id;
  int64_t attempted_version = 0;
  int64_t current_version = 0;
};

/// Extracts the details of a `version_conflict`, or nothing for any other
/// error.
std::optional<version_conflict_info>
get_version_conflict(const caf::error& err);

/// Returns `err` with `what: ` before its description and the same code
/// (the context of a `version_conflict` is not kept); an error of another
/// category is returned as it is.
caf::error prefix_error(const std::string& what, const caf::error& err);

/// Returns true if `err` belongs to the persistence category and has `code`.
bool is(const caf::error& err, persistence_error code);

/// Returns the description of an aether error (the first string of its
/// context), or CAF's rendering for any other error.
std::string describe(const caf::error& err);

/// Renders an aether error as `<code name>: <description>` (used by the
/// renderers of every aether error category).
std::string render_error(std::string code_name, const caf::message& context);

/// Registers the renderers of all aether error categories so that
/// `actor_system::render` prints their descriptions.
void add_error_categories(caf::actor_system_config& cfg);

} // namespace aether

CAF_ERROR_CODE_ENUM(aether::persistence_error, "persist")
