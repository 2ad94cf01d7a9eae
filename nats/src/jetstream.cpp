#include "aether/nats/jetstream.hpp"

#include "aether/core/error.hpp"
#include "nats_access.hpp"

#include <memory>
#include <nats/nats.h>

namespace aether {

namespace {

constexpr int js_wrong_last_sequence = 10071;
constexpr int js_no_message_found = 10037;
constexpr int js_stream_not_found = 10059;

} // namespace

publish_outcome classify_publish(int status, int js_error,
                                 const publish_ack& ack,
                                 const std::string& what) {
  auto s = static_cast<natsStatus>(status);
  if (s == NATS_OK && js_error == 0)
    return ack;
  std::string text = what + ": " + natsStatus_GetText(s);
  if (js_error != 0) {
    text += " (JetStream error " + std::to_string(js_error) + ")";
    // The server answered: nothing was stored.
    if (js_error == js_wrong_last_sequence)
      return make_persistence_error(persistence_error::version_conflict,
                                    text
                                      + "; the subject's last sequence is "
                                        "not the one expected");
    return make_persistence_error(persistence_error::store_failure, text);
  }
  switch (s) {
    case NATS_NO_RESPONDERS:
      return make_persistence_error(persistence_error::unavailable,
                                    text + "; no stream received it");
    case NATS_NOT_PERMITTED:
    case NATS_INVALID_ARG:
    case NATS_INVALID_SUBJECT:
    case NATS_MAX_PAYLOAD:
      // Refused before it was stored: as any other call.
      return make_nats_error(status, 0, what);
    default:
      return make_persistence_error(persistence_error::unknown_outcome,
                                    text + "; it may or may not be stored");
  }
}

jetstream::jetstream(std::shared_ptr<nats_connection> conn,
                     std::chrono::milliseconds timeout)
  : conn_(std::move(conn)), timeout_(timeout) {
  // nop
}

caf::expected<stream_info>
jetstream::info(const std::string& stream,
                const std::string& subjects_filter) const {
  auto jo = js_options(timeout_);
  if (!subjects_filter.empty())
    jo.Stream.Info.SubjectsFilter = subjects_filter.c_str();
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  auto s = js_GetStreamInfo(&si, detail_nats_access::js(*conn_), stream.c_str(),
                            &jo, &jerr);
  if (s == NATS_NOT_FOUND || jerr == js_stream_not_found)
    return make_persistence_error(persistence_error::not_found,
                                  "no stream \"" + stream + "\"");
  if (s != NATS_OK)
    return make_nats_error(s, jerr, "cannot read stream \"" + stream + "\"");
  std::unique_ptr<jsStreamInfo, void (*)(jsStreamInfo*)> guard{
    si, jsStreamInfo_Destroy};
  stream_info out;
  auto* c = si->Config;
  auto& x = out.config;
  x.name = c->Name ? c->Name : "";
  for (int i = 0; i < c->SubjectsLen; ++i)
    x.subjects.emplace_back(c->Subjects[i]);
  x.file_storage = c->Storage == js_FileStorage;
  x.limits_retention = c->Retention == js_LimitsPolicy;
  x.max_msgs_per_subject = c->MaxMsgsPerSubject;
  x.max_age_ns = c->MaxAge;
  x.max_msgs = c->MaxMsgs;
  x.max_bytes = c->MaxBytes;
  x.discard_new = c->Discard == js_DiscardNew;
  x.duplicates_ns = c->Duplicates;
  x.replicas = static_cast<int>(c->Replicas);
  x.deny_delete = c->DenyDelete;
  x.deny_purge = c->DenyPurge;
  out.messages = si->State.Msgs;
  out.bytes = si->State.Bytes;
  out.first_seq = si->State.FirstSeq;
  out.last_seq = si->State.LastSeq;
  if (si->State.Subjects != nullptr)
    for (int i = 0; i < si->State.Subjects->Count; ++i)
      out.subjects[si->State.Subjects->List[i].Subject]
        = si->State.Subjects->List[i].Msgs;
  return out;
}

caf::error jetstream::add_stream(const stream_config& want) const {
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  cfg.Name = want.name.c_str();
  std::vector<const char*> subjects;
  for (auto& x : want.subjects)
    subjects.push_back(x.c_str());
  cfg.Subjects = subjects.data();
  cfg.SubjectsLen = static_cast<int>(subjects.size());
  cfg.Storage = want.file_storage ? js_FileStorage : js_MemoryStorage;
  cfg.Retention = js_LimitsPolicy;
  cfg.Replicas = want.replicas;
  cfg.MaxAge = want.max_age_ns;
  cfg.MaxMsgs = want.max_msgs;
  cfg.MaxBytes = want.max_bytes;
  cfg.MaxMsgsPerSubject = want.max_msgs_per_subject;
  cfg.Duplicates = want.duplicates_ns;
  cfg.Discard = want.discard_new ? js_DiscardNew : js_DiscardOld;
  cfg.DenyDelete = want.deny_delete;
  cfg.DenyPurge = want.deny_purge;
  auto jo = js_options(timeout_);
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  auto s = js_AddStream(&si, detail_nats_access::js(*conn_), &cfg, &jo, &jerr);
  if (s != NATS_OK)
    return make_nats_error(s, jerr,
                           "cannot create stream \"" + want.name + "\"");
  jsStreamInfo_Destroy(si);
  return caf::none;
}

caf::error jetstream::purge(const std::string& stream,
                            const std::string& subject) const {
  auto jo = js_options(timeout_);
  if (!subject.empty())
    jo.Stream.Purge.Subject = subject.c_str();
  jsErrCode jerr = static_cast<jsErrCode>(0);
  auto s = js_PurgeStream(detail_nats_access::js(*conn_), stream.c_str(), &jo,
                          &jerr);
  if (s != NATS_OK)
    return make_nats_error(s, jerr, "cannot purge stream \"" + stream + "\"");
  return caf::none;
}

caf::expected<jetstream_message>
jetstream::last_message(const std::string& stream,
                        const std::string& subject) const {
  auto jo = js_options(timeout_);
  natsMsg* raw = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  auto s = js_GetLastMsg(&raw, detail_nats_access::js(*conn_), stream.c_str(),
                         subject.c_str(), &jo, &jerr);
  if (s == NATS_NOT_FOUND || jerr == js_no_message_found)
    return jetstream_message{};
  if (s != NATS_OK) {
    // A read changes nothing: a timeout is as safe to retry as a refusal.
    auto err = make_nats_error(s, jerr, "cannot read \"" + subject + "\"");
    if (is(err, persistence_error::unknown_outcome))
      return make_persistence_error(persistence_error::unavailable,
                                    describe(err));
    return err;
  }
  return jetstream_message{raw, natsMsg_GetSequence(raw)};
}

publish_outcome jetstream::publish(const jetstream_message& m) const {
  if (!m)
    return make_persistence_error(persistence_error::invalid_argument,
                                  "publish: an empty message");
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = timeout_.count();
  jsPubAck* pa = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  auto s = js_PublishMsg(&pa, detail_nats_access::js(*conn_), m.msg_, &po,
                         &jerr);
  publish_ack ack;
  if (pa != nullptr) {
    ack.sequence = pa->Sequence;
    ack.duplicate = pa->Duplicate;
    jsPubAck_Destroy(pa);
  }
  return classify_publish(
    s, jerr, ack, "cannot publish on \"" + std::string{m.subject()} + "\"");
}

bool jetstream::publish_async(
  jetstream_message& m,
  std::function<void(const publish_outcome&)> done) const {
  if (!m)
    return false;
  auto subject = std::string{m.subject()};
  auto* raw = m.msg_;
  auto cb = [subject, done = std::move(done)](int status, int js_error,
                                              uint64_t seq, bool dup) {
    done(classify_publish(status, js_error, publish_ack{seq, dup},
                          "cannot publish on \"" + subject + "\""));
  };
  if (!detail_nats_access::publish_async(*conn_, raw, timeout_, std::move(cb)))
    return false;
  m.msg_ = raw; // null: nats.c took it
  m.seq_ = 0;
  return true;
}

caf::error jetstream::delete_message(const std::string& stream,
                                     uint64_t seq) const {
  auto jo = js_options(timeout_);
  jsErrCode jerr = static_cast<jsErrCode>(0);
  auto s = js_DeleteMsg(detail_nats_access::js(*conn_), stream.c_str(), seq,
                        &jo, &jerr);
  if (s != NATS_OK && jerr != js_no_message_found)
    return make_nats_error(s, jerr,
                           "cannot delete message " + std::to_string(seq)
                             + " of stream \"" + stream + "\"");
  return caf::none;
}

caf::expected<std::unique_ptr<jetstream_reader>>
jetstream::open_reader(const std::string& stream, const std::string& subject,
                       uint64_t start_seq, bool headers_only) const {
  auto jo = js_options(timeout_);
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = stream.c_str();
  so.Ordered = true;
  so.Config.DeliverPolicy = js_DeliverByStartSequence;
  so.Config.OptStartSeq = start_seq;
  so.Config.HeadersOnly = headers_only;
  natsSubscription* sub = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  auto s = js_SubscribeSync(&sub, detail_nats_access::js(*conn_),
                            subject.c_str(), &jo, &so, &jerr);
  if (s != NATS_OK)
    return make_nats_error(s, jerr, "cannot read \"" + subject + "\"");
  return std::unique_ptr<jetstream_reader>{
    new jetstream_reader(sub, subject, timeout_)};
}

caf::error
jetstream::read(const std::string& stream, const std::string& subject,
                uint64_t start_seq, uint64_t last_seq, bool headers_only,
                const std::function<bool(const jetstream_message&)>& f) const {
  if (last_seq == 0 || start_seq > last_seq)
    return caf::none;
  auto reader = open_reader(stream, subject, start_seq, headers_only);
  if (!reader)
    return reader.error();
  for (;;) {
    auto m = (*reader)->next();
    if (!m)
      return m.error();
    if (!f(*m) || m->sequence() >= last_seq)
      return caf::none;
  }
}

int64_t jetstream::max_payload() const {
  return conn_->max_payload();
}

} // namespace aether
