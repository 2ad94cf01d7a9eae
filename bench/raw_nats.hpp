#pragma once

#include <nats/nats.h>
#include <stdexcept>
#include <string>

namespace aether::bench {

/// A plain nats.c connection and JetStream context, for the raw limits the
/// benchmarks measure beside aether (aether's own connections keep their
/// nats.c handles to themselves). Configured as `nats_connection`
/// configures its own: SendAsap, an asynchronous publish window of 1,000.
class raw_nats {
public:
  explicit raw_nats(const std::string& url) {
    natsOptions* o = nullptr;
    natsOptions_Create(&o);
    natsOptions_SetURL(o, url.c_str());
    natsOptions_SetSendAsap(o, true);
    auto s = natsConnection_Connect(&conn_, o);
    natsOptions_Destroy(o);
    if (s != NATS_OK)
      throw std::runtime_error(std::string{"raw nats.c connect: "}
                               + natsStatus_GetText(s));
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.PublishAsync.MaxPending = 1000;
    jo.PublishAsync.StallWait = 1;
    if (natsConnection_JetStream(&js_, conn_, &jo) != NATS_OK)
      throw std::runtime_error("raw nats.c: no JetStream context");
  }

  ~raw_nats() {
    jsCtx_Destroy(js_);
    natsConnection_Close(conn_);
    natsConnection_Destroy(conn_);
  }

  raw_nats(const raw_nats&) = delete;
  raw_nats& operator=(const raw_nats&) = delete;

  natsConnection* conn() const {
    return conn_;
  }

  jsCtx* js() const {
    return js_;
  }

private:
  natsConnection* conn_ = nullptr;
  jsCtx* js_ = nullptr;
};

} // namespace aether::bench
