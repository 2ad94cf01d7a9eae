#include "aether/nats/jetstream_message.hpp"

#include <cstdlib>
#include <cstring>
#include <nats/nats.h>
#include <utility>

namespace aether {

jetstream_message::jetstream_message(const std::string& subject,
                                     std::string_view data) {
  if (natsMsg_Create(&msg_, subject.c_str(), nullptr, data.data(),
                     static_cast<int>(data.size()))
      != NATS_OK)
    msg_ = nullptr;
}

jetstream_message::~jetstream_message() {
  if (msg_ != nullptr)
    natsMsg_Destroy(msg_);
}

jetstream_message::jetstream_message(jetstream_message&& other) noexcept
  : msg_(std::exchange(other.msg_, nullptr)),
    seq_(std::exchange(other.seq_, 0)) {
  // nop
}

jetstream_message&
jetstream_message::operator=(jetstream_message&& other) noexcept {
  if (this != &other) {
    if (msg_ != nullptr)
      natsMsg_Destroy(msg_);
    msg_ = std::exchange(other.msg_, nullptr);
    seq_ = std::exchange(other.seq_, 0);
  }
  return *this;
}

void jetstream_message::set_header(const char* key, const std::string& value) {
  if (msg_ != nullptr)
    natsMsgHeader_Set(msg_, key, value.c_str());
}

std::optional<std::string> jetstream_message::header(const char* key) const {
  const char* v = nullptr;
  if (msg_ == nullptr || natsMsgHeader_Get(msg_, key, &v) != NATS_OK
      || v == nullptr)
    return std::nullopt;
  return std::string{v};
}

bool jetstream_message::header_int(const char* key, int64_t& out) const {
  const char* v = nullptr;
  if (msg_ == nullptr || natsMsgHeader_Get(msg_, key, &v) != NATS_OK
      || v == nullptr)
    return false;
  char* end = nullptr;
  auto x = std::strtoll(v, &end, 10);
  if (end == v)
    return false;
  out = x;
  return true;
}

std::string_view jetstream_message::data() const {
  if (msg_ == nullptr)
    return {};
  auto* d = natsMsg_GetData(msg_);
  return d ? std::string_view{d,
                              static_cast<size_t>(natsMsg_GetDataLength(msg_))}
           : std::string_view{};
}

std::string_view jetstream_message::subject() const {
  if (msg_ == nullptr)
    return {};
  auto* s = natsMsg_GetSubject(msg_);
  return s ? std::string_view{s} : std::string_view{};
}

int64_t jetstream_message::wire_size() const {
  if (msg_ == nullptr)
    return 0;
  int64_t n = natsMsg_GetDataLength(msg_);
  const char** keys = nullptr;
  int count = 0;
  if (natsMsgHeader_Keys(msg_, &keys, &count) == NATS_OK && count > 0) {
    n += 12;
    for (int i = 0; i < count; ++i) {
      const char** values = nullptr;
      int nv = 0;
      if (natsMsgHeader_Values(msg_, keys[i], &values, &nv) == NATS_OK) {
        for (int k = 0; k < nv; ++k)
          n += static_cast<int64_t>(std::strlen(keys[i])
                                    + std::strlen(values[k]) + 4);
        free(static_cast<void*>(values));
      }
    }
    free(static_cast<void*>(keys));
  }
  return n;
}

} // namespace aether
