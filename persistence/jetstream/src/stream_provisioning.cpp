#include "stream_provisioning.hpp"

#include "aether/core/error.hpp"

#include <algorithm>

namespace aether::detail {

caf::error ensure_stream(const jetstream& js, const stream_config& want,
                         bool create) {
  auto& name = want.name;
  auto info = js.info(name);
  if (!info && is(info.error(), persistence_error::not_found)) {
    if (create)
      return js.add_stream(want);
    return make_persistence_error(persistence_error::not_found,
                                  "stream \"" + name
                                    + "\" does not exist (opened without "
                                      "creating streams)");
  }
  if (!info)
    return info.error();
  auto& c = info->config;
  auto incompatible = [&](const std::string& field, const std::string& is,
                          const std::string& expected) {
    return make_persistence_error(
      persistence_error::store_failure,
      "stream \"" + name + "\" exists with an incompatible config: " + field
        + " is " + is + ", expected " + expected);
  };
  auto num = [](int64_t x) {
    return std::to_string(x);
  };
  for (auto& subject : want.subjects)
    if (std::find(c.subjects.begin(), c.subjects.end(), subject)
        == c.subjects.end())
      return incompatible("subjects", "without \"" + subject + "\"",
                          "to include it");
  if (!c.file_storage)
    return incompatible("storage", "memory", "file");
  if (!c.limits_retention)
    return incompatible("retention", "interest or work queue", "limits");
  auto unlimited = [](int64_t x) {
    return x <= 0 ? int64_t{-1} : x;
  };
  if (unlimited(c.max_msgs_per_subject) != unlimited(want.max_msgs_per_subject))
    return incompatible("max messages per subject", num(c.max_msgs_per_subject),
                        num(want.max_msgs_per_subject));
  if (unlimited(c.max_age_ns) != unlimited(want.max_age_ns))
    return incompatible("max age (ns)", num(c.max_age_ns),
                        num(want.max_age_ns));
  if (unlimited(c.max_msgs) != unlimited(want.max_msgs))
    return incompatible("max messages", num(c.max_msgs), num(want.max_msgs));
  if (unlimited(c.max_bytes) != unlimited(want.max_bytes))
    return incompatible("max bytes", num(c.max_bytes), num(want.max_bytes));
  if (c.discard_new)
    return incompatible("discard policy", "new", "old");
  if (c.duplicates_ns != want.duplicates_ns)
    return incompatible("duplicates window (ns)", num(c.duplicates_ns),
                        num(want.duplicates_ns));
  if (c.replicas != want.replicas)
    return incompatible("replicas", num(c.replicas), num(want.replicas));
  if (c.deny_delete)
    return incompatible("deny delete", "true", "false");
  if (c.deny_purge)
    return incompatible("deny purge", "true", "false");
  return caf::none;
}

} // namespace aether::detail
