#include "aether/nats/jetstream_reader.hpp"

#include "aether/core/error.hpp"
#include "nats_access.hpp"

namespace aether {

jetstream_reader::jetstream_reader(natsSubscription* sub, std::string subject,
                                   std::chrono::milliseconds timeout)
  : sub_(sub), subject_(std::move(subject)), timeout_(timeout) {
  // nop
}

jetstream_reader::~jetstream_reader() {
  natsSubscription_Unsubscribe(sub_);
  natsSubscription_Destroy(sub_);
}

caf::expected<jetstream_message> jetstream_reader::next() {
  natsMsg* raw = nullptr;
  auto s = natsSubscription_NextMsg(&raw, sub_, timeout_.count());
  if (s != NATS_OK) {
    auto err = make_nats_error(s, 0, "reading \"" + subject_ + "\" stalled");
    return make_persistence_error(persistence_error::unavailable,
                                  describe(err));
  }
  uint64_t seq = 0;
  jsMsgMetaData* meta = nullptr;
  if (natsMsg_GetMetaData(&meta, raw) == NATS_OK) {
    seq = meta->Sequence.Stream;
    jsMsgMetaData_Destroy(meta);
  }
  return jetstream_message{raw, seq};
}

} // namespace aether
