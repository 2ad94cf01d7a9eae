#include "aether/projections/projection_options.hpp"

#include "aether/core/error.hpp"
#include "aether/persistence/validation.hpp"

namespace aether {

caf::error projection_options::validate() const {
  if (name.empty() || name.size() > 128)
    return invalid_field("name", "must be 1 to 128 bytes");
  for (auto c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-'
        && c != '.')
      return invalid_field("name", "must hold only letters, digits, '_', "
                                   "'-' and '.' (\""
                                     + name + "\")");
  if (!query.tag.empty())
    if (auto err = validate_tag(query.tag))
      return err;
  if (batch_size == 0)
    return invalid_field("batch_size", "must be at least 1");
  if (workers == 0 || workers > 1024)
    return invalid_field("workers", "must be 1 to 1024");
  if (poll_interval.count() <= 0)
    return invalid_field("poll_interval", "must be positive");
  if (max_backoff < poll_interval)
    return invalid_field("max_backoff", "must be at least poll_interval");
  if (dead_letter_after > 0 && !dead_letter)
    return invalid_field("dead_letter", "must be set with dead_letter_after");
  return caf::none;
}

} // namespace aether
