#include "aether/nats/nats_subscription.hpp"

#include "nats_access.hpp"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nats/nats.h>
#include <vector>

namespace aether {

struct nats_subscription::state {
  handler fun;
  natsSubscription* sub = nullptr;
  std::mutex mtx;
  std::condition_variable cv;
  bool complete = false;
};

namespace {

void on_message(natsConnection*, natsSubscription*, natsMsg* msg,
                void* closure) {
  auto* st = static_cast<nats_subscription::state*>(closure);
  nats_message m;
  if (auto* s = natsMsg_GetSubject(msg))
    m.subject = s;
  if (auto* r = natsMsg_GetReply(msg))
    m.reply = r;
  if (auto* d = natsMsg_GetData(msg))
    m.data.assign(d, static_cast<size_t>(natsMsg_GetDataLength(msg)));
  m.no_responders = natsMsg_IsNoResponders(msg);
  natsMsg_Destroy(msg);
  st->fun(std::move(m));
}

void on_complete(void* closure) {
  auto* st = static_cast<nats_subscription::state*>(closure);
  std::lock_guard<std::mutex> guard{st->mtx};
  st->complete = true;
  st->cv.notify_all();
}

} // namespace

nats_subscription::nats_subscription(std::shared_ptr<nats_connection> conn,
                                     std::string subject)
  : conn_(std::move(conn)), subject_(std::move(subject)),
    state_(std::make_shared<state>()) {
  // nop
}

caf::expected<std::unique_ptr<nats_subscription>>
nats_subscription::subscribe(std::shared_ptr<nats_connection> conn,
                             const std::string& subject,
                             const std::string& queue, handler f) {
  limits lim;
  lim.queue = queue;
  return subscribe(std::move(conn), subject, lim, std::move(f));
}

caf::expected<std::unique_ptr<nats_subscription>>
nats_subscription::subscribe(std::shared_ptr<nats_connection> conn,
                             const std::string& subject, const limits& lim,
                             handler f) {
  std::unique_ptr<nats_subscription> result{
    new nats_subscription(conn, subject)};
  auto* st = result->state_.get();
  st->fun = std::move(f);
  auto* nc = detail_nats_access::conn(*conn);
  natsStatus s;
  if (lim.queue.empty())
    s = natsConnection_Subscribe(&st->sub, nc, subject.c_str(), on_message, st);
  else
    s = natsConnection_QueueSubscribe(&st->sub, nc, subject.c_str(),
                                      lim.queue.c_str(), on_message, st);
  if (s != NATS_OK) {
    st->sub = nullptr;
    return make_nats_error(s, 0, "cannot subscribe to \"" + subject + "\"");
  }
  natsSubscription_SetOnCompleteCB(st->sub, on_complete, st);
  natsSubscription_SetPendingLimits(st->sub, lim.pending_msgs,
                                    lim.pending_bytes);
  return result;
}

uint64_t nats_subscription::dropped() const {
  int64_t n = 0;
  if (state_->sub == nullptr
      || natsSubscription_GetDropped(state_->sub, &n) != NATS_OK || n < 0)
    return 0;
  return static_cast<uint64_t>(n);
}

void nats_subscription::begin_close() {
  if (!state_->sub || closing_)
    return;
  closing_ = true;
  // Drain: no new messages, but those the server sent before it saw the
  // unsubscribe still reach the handler (a plain unsubscribe drops them).
  started_ = natsSubscription_Drain(state_->sub) == NATS_OK
             || natsSubscription_Unsubscribe(state_->sub) == NATS_OK;
}

void nats_subscription::close(std::chrono::steady_clock::time_point deadline) {
  auto* sub = state_->sub;
  if (!sub)
    return;
  begin_close();
  state_->sub = nullptr;
  bool complete = false;
  if (started_) {
    std::unique_lock<std::mutex> guard{state_->mtx};
    complete = state_->cv.wait_until(guard, deadline, [this] {
      return state_->complete;
    });
  }
  natsSubscription_Destroy(sub);
  if (!complete)
    keep_forever(state_);
}

void nats_subscription::keep_forever(std::shared_ptr<state> s) {
  // nats.c may still call back into a subscription whose drain did not
  // finish (a connection lost): its state lives as long as the process,
  // reachable from here (so leak checkers do not report it).
  static std::mutex mtx;
  static auto* kept = new std::vector<std::shared_ptr<state>>;
  std::lock_guard<std::mutex> guard{mtx};
  kept->push_back(std::move(s));
}

bool nats_subscription::drained() const {
  std::lock_guard<std::mutex> guard{state_->mtx};
  return state_->complete;
}

void nats_subscription::close() {
  close(std::chrono::steady_clock::now() + std::chrono::seconds{5});
}

nats_subscription::~nats_subscription() {
  close();
}

} // namespace aether
