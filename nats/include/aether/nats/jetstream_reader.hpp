#pragma once

#include "aether/nats/jetstream_message.hpp"

#include <caf/expected.hpp>
#include <chrono>
#include <memory>
#include <string>

struct __natsSubscription;

namespace aether {

/// An ordered consumer kept open: a stream's messages on a subject from a
/// start sequence on, in order, one `next` at a time (a cursor; see
/// `jetstream::open_reader`). Destroying it deletes the consumer. One
/// thread at a time.
class jetstream_reader {
public:
  ~jetstream_reader();

  jetstream_reader(const jetstream_reader&) = delete;
  jetstream_reader& operator=(const jetstream_reader&) = delete;

  /// The next message, waiting up to the timeout given at opening; a read
  /// that stalls that long is `unavailable`.
  caf::expected<jetstream_message> next();

private:
  friend class jetstream;

  jetstream_reader(__natsSubscription* sub, std::string subject,
                   std::chrono::milliseconds timeout);

  __natsSubscription* sub_;
  std::string subject_;
  std::chrono::milliseconds timeout_;
};

} // namespace aether
