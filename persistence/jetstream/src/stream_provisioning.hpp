#pragma once

#include "aether/nats/jetstream.hpp"

#include <caf/error.hpp>

namespace aether::detail {

/// Creates the stream `want` describes, or checks an existing one: every
/// setting the store's guarantees rely on (subjects, file storage, limits
/// retention, limits, discard old, duplicates window, replicas, delete and
/// purge allowed) must match; one that differs is refused with
/// `store_failure`, naming the setting, its value and the expected value.
/// With `create` false, a missing stream is `not_found` instead.
caf::error ensure_stream(const jetstream& js, const stream_config& want,
                         bool create = true);

} // namespace aether::detail
