#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// nats.c's message type (from <nats/nats.h>), kept out of this header.
struct __natsMsg;

namespace aether {

class jetstream;

/// A JetStream message owned by this process: one being built for a publish,
/// or one read back from a stream (then with its stream sequence). Owns its
/// nats.c message (RAII); movable, not copyable. An empty message (`false`)
/// stands for "no message" where a read found none.
class jetstream_message {
public:
  jetstream_message() = default;

  /// A message on `subject` carrying `data` (no headers yet).
  jetstream_message(const std::string& subject, std::string_view data);

  ~jetstream_message();

  jetstream_message(jetstream_message&& other) noexcept;
  jetstream_message& operator=(jetstream_message&& other) noexcept;
  jetstream_message(const jetstream_message&) = delete;
  jetstream_message& operator=(const jetstream_message&) = delete;

  explicit operator bool() const {
    return msg_ != nullptr;
  }

  /// Sets header `key` to `value` (replacing an earlier value).
  void set_header(const char* key, const std::string& value);

  /// The first value of header `key`, or nothing.
  std::optional<std::string> header(const char* key) const;

  /// Header `key` as a decimal integer; false when missing or not a number.
  bool header_int(const char* key, int64_t& out) const;

  /// The payload (empty for an empty message).
  std::string_view data() const;

  /// The subject (empty for an empty message).
  std::string_view subject() const;

  /// The stream sequence of a message read from a stream; 0 for one being
  /// built.
  uint64_t sequence() const {
    return seq_;
  }

  /// The bytes the message takes against the server's `max_payload`: its
  /// data plus its header block ("NATS/1.0\r\n", "Key: Value\r\n" per value,
  /// "\r\n").
  int64_t wire_size() const;

private:
  friend class jetstream;
  friend class jetstream_reader;

  jetstream_message(__natsMsg* msg, uint64_t seq) : msg_(msg), seq_(seq) {
    // nop
  }

  /// Hands the nats.c message over (the caller destroys it).
  __natsMsg* release() {
    auto* m = msg_;
    msg_ = nullptr;
    return m;
  }

  __natsMsg* msg_ = nullptr;
  uint64_t seq_ = 0;
};

} // namespace aether
