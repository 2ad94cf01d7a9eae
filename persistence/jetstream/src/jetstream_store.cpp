#include "aether/jetstream/jetstream_store.hpp"

#include "aether/core/error.hpp"
#include "aether/core/uuid.hpp"
#include "aether/persistence/json_codec.hpp"
#include "append_pipeline.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <nats/nats.h>
#include <optional>

namespace aether {

namespace {

constexpr const char* hdr_msg_id = "Nats-Msg-Id";
constexpr const char* hdr_expected_seq = "Nats-Expected-Last-Subject-Sequence";
constexpr const char* hdr_first = "Aether-First-Version";
constexpr const char* hdr_version = "Aether-Version";
constexpr const char* hdr_deleted_to = "Aether-Deleted-To";
constexpr const char* hdr_time = "Aether-Time";
constexpr const char* hdr_first_id = "Aether-First-Id";

constexpr int js_wrong_last_sequence = 10071;
constexpr int js_no_message_found = 10037;
constexpr int js_stream_not_found = 10059;

using msg_ptr = std::unique_ptr<natsMsg, void (*)(natsMsg*)>;

msg_ptr own(natsMsg* m) {
  return msg_ptr{m, natsMsg_Destroy};
}

bool header_int(natsMsg* m, const char* key, int64_t& out) {
  const char* v = nullptr;
  if (natsMsgHeader_Get(m, key, &v) != NATS_OK || v == nullptr)
    return false;
  char* end = nullptr;
  out = std::strtoll(v, &end, 10);
  return end != v;
}

std::string body_of(natsMsg* m) {
  auto* d = natsMsg_GetData(m);
  return d ? std::string{d, static_cast<size_t>(natsMsg_GetDataLength(m))}
           : std::string{};
}

/// A publish that waits for the server's acknowledgement, bounded by
/// `timeout`.
natsStatus publish_sync(jsCtx* js, std::chrono::milliseconds timeout,
                        natsMsg* m, jsPubAck** ack, jsErrCode& jerr) {
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = timeout.count();
  return js_PublishMsg(ack, js, m, &po, &jerr);
}

jsOptions js_opts(std::chrono::milliseconds timeout) {
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = timeout.count();
  return jo;
}

bool unbounded(const snapshot_criteria& c) {
  return c.max_version == std::numeric_limits<int64_t>::max()
         && c.min_version <= 0 && c.max_time == timestamp::max()
         && c.min_time == timestamp::min();
}

} // namespace

std::string sanitize_namespace(const std::string& ns) {
  std::string out = ns;
  for (auto& c : out)
    if (c == ' ' || c == '.' || c == '*' || c == '>' || c == '/' || c == '\\'
        || static_cast<unsigned char>(c) < 0x21
        || static_cast<unsigned char>(c) > 0x7E)
      c = '_';
  return out.empty() ? std::string{"default"} : out;
}

std::string subject_token(const std::string& actor_id) {
  std::string out;
  out.reserve(actor_id.size() + 8);
  for (char c : actor_id) {
    if (c == '_')
      out += "_5F";
    else if (c == '.')
      out += "_2E";
    else
      out += c;
  }
  return out;
}

jetstream_store::jetstream_store(std::shared_ptr<nats_connection> conn,
                                 options opts)
  : conn_(std::move(conn)), opts_(std::move(opts)) {
  ns_ = sanitize_namespace(opts_.ns);
  event_stream_ = ns_ + "_" + sanitize_namespace(opts_.stream);
  snapshot_stream_ = ns_ + "_" + sanitize_namespace(opts_.snapshot_stream);
  heads_stream_ = event_stream_ + "_heads";
  auto& l = opts_.event_limits;
  heads_ = l.max_age.count() > 0 || l.max_msgs > 0 || l.max_bytes > 0;
  detail::append_pipeline::limits lim;
  lim.threads = opts_.append_threads;
  lim.max_events = std::max<size_t>(opts_.max_merged_events, 1);
  lim.drain_timeout = opts_.timeout * 2;
  using group = detail::append_pipeline::group;
  pipeline_ = std::make_unique<detail::append_pipeline>(
    lim,
    [this](group& g, const append_callback& complete,
           const std::function<void()>& run_instead) {
      return start_append(g.events, g.encoded, complete, run_instead);
    },
    [this](group& g) {
      return run_append(g.events, g.encoded);
    });
}

jetstream_store::~jetstream_store() {
  // Waits for every append (each completes within the timeout).
  pipeline_.reset();
}

std::string jetstream_store::event_subject(const std::string& actor_id) const {
  return "aether." + ns_ + "." + sanitize_namespace(opts_.stream) + "."
         + subject_token(actor_id);
}

std::string
jetstream_store::snapshot_subject(const std::string& actor_id) const {
  return "aether." + ns_ + "." + sanitize_namespace(opts_.snapshot_stream) + "."
         + subject_token(actor_id);
}

caf::expected<std::unique_ptr<jetstream_store>>
jetstream_store::open(std::shared_ptr<nats_connection> conn, options opts) {
  if (!conn)
    return make_persistence_error(persistence_error::invalid_argument,
                                  "jetstream_store: no connection");
  std::unique_ptr<jetstream_store> st{
    new jetstream_store(std::move(conn), std::move(opts))};
  auto& o = st->opts_;
  auto ns_of = [](auto d) {
    return static_cast<int64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
  };
  if (o.event_limits.max_age.count() < 0 || o.duplicates_window.count() <= 0)
    return make_persistence_error(
      persistence_error::invalid_argument,
      "jetstream_store options: event_limits.max_age must be >= 0 (0: "
      "forever) and duplicates_window > 0");
  auto prefix = "aether." + st->ns_ + ".";
  stream_limits events;
  events.name = st->event_stream_;
  events.subject = prefix + sanitize_namespace(o.stream) + ".>";
  events.max_per_subject = -1;
  events.max_age_ns = ns_of(o.event_limits.max_age);
  events.max_msgs = o.event_limits.max_msgs > 0 ? o.event_limits.max_msgs : -1;
  events.max_bytes = o.event_limits.max_bytes > 0 ? o.event_limits.max_bytes
                                                  : -1;
  events.duplicates_ns = ns_of(o.duplicates_window);
  if (events.max_age_ns > 0) // the server wants the window within the age
    events.duplicates_ns = std::min(events.duplicates_ns, events.max_age_ns);
  if (auto err = st->ensure_stream(events))
    return err;
  if (st->heads_) {
    // With limits, events can expire; each actor's latest version is kept
    // in a stream without limits (one message per actor), so an actor whose
    // events all expired is not taken for a new one.
    stream_limits heads;
    heads.name = st->heads_stream_;
    heads.subject = prefix + sanitize_namespace(o.stream) + "_heads.>";
    heads.max_per_subject = 1;
    heads.duplicates_ns = ns_of(o.duplicates_window);
    if (auto err = st->ensure_stream(heads))
      return err;
  }
  stream_limits snapshots;
  snapshots.name = st->snapshot_stream_;
  snapshots.subject = prefix + sanitize_namespace(o.snapshot_stream) + ".>";
  snapshots.max_per_subject = o.snapshots_per_actor;
  snapshots.duplicates_ns = ns_of(o.duplicates_window);
  if (auto err = st->ensure_stream(snapshots))
    return err;
  return st;
}

caf::error jetstream_store::ensure_stream(const stream_limits& want) {
  auto& name = want.name;
  auto jo = js_opts(opts_.timeout);
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  auto s = js_GetStreamInfo(&si, conn_->jetstream(), name.c_str(), &jo, &jerr);
  if (s == NATS_OK) {
    std::unique_ptr<jsStreamInfo, void (*)(jsStreamInfo*)> guard{
      si, jsStreamInfo_Destroy};
    auto* c = si->Config;
    // Every setting the guarantees rely on: an existing stream that differs
    // is refused, naming the setting, its value and the expected value.
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
    bool has_subject = false;
    for (int i = 0; i < c->SubjectsLen; ++i)
      has_subject = has_subject || want.subject == c->Subjects[i];
    if (!has_subject)
      return incompatible("subjects", "without \"" + want.subject + "\"",
                          "to include it");
    if (c->Storage != js_FileStorage)
      return incompatible("storage", "memory", "file");
    if (c->Retention != js_LimitsPolicy)
      return incompatible("retention", num(c->Retention), "limits");
    auto unlimited = [](int64_t x) {
      return x <= 0 ? int64_t{-1} : x;
    };
    if (unlimited(c->MaxMsgsPerSubject) != unlimited(want.max_per_subject))
      return incompatible("max messages per subject", num(c->MaxMsgsPerSubject),
                          num(want.max_per_subject));
    if (unlimited(c->MaxAge) != unlimited(want.max_age_ns))
      return incompatible("max age (ns)", num(c->MaxAge), num(want.max_age_ns));
    if (unlimited(c->MaxMsgs) != unlimited(want.max_msgs))
      return incompatible("max messages", num(c->MaxMsgs), num(want.max_msgs));
    if (unlimited(c->MaxBytes) != unlimited(want.max_bytes))
      return incompatible("max bytes", num(c->MaxBytes), num(want.max_bytes));
    if (c->Discard != js_DiscardOld)
      return incompatible("discard policy", "new", "old");
    if (c->Duplicates != want.duplicates_ns)
      return incompatible("duplicates window (ns)", num(c->Duplicates),
                          num(want.duplicates_ns));
    if (c->Replicas != opts_.replicas)
      return incompatible("replicas", num(c->Replicas), num(opts_.replicas));
    if (c->DenyDelete)
      return incompatible("deny delete", "true", "false");
    if (c->DenyPurge)
      return incompatible("deny purge", "true", "false");
    return caf::none;
  }
  if (s != NATS_NOT_FOUND && jerr != js_stream_not_found)
    return make_nats_error(s, jerr, "cannot read stream \"" + name + "\"");
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  cfg.Name = name.c_str();
  const char* subjects[] = {want.subject.c_str()};
  cfg.Subjects = subjects;
  cfg.SubjectsLen = 1;
  cfg.Storage = js_FileStorage;
  cfg.Replicas = opts_.replicas;
  cfg.MaxAge = want.max_age_ns;
  cfg.MaxMsgs = want.max_msgs;
  cfg.MaxBytes = want.max_bytes;
  cfg.MaxMsgsPerSubject = want.max_per_subject;
  cfg.Duplicates = want.duplicates_ns;
  cfg.Discard = js_DiscardOld;
  s = js_AddStream(&si, conn_->jetstream(), &cfg, &jo, &jerr);
  if (s != NATS_OK)
    return make_nats_error(s, jerr, "cannot create stream \"" + name + "\"");
  jsStreamInfo_Destroy(si);
  return caf::none;
}

caf::expected<jetstream_store::cache_entry>
jetstream_store::read_last(const std::string& actor_id) {
  auto last
    = last_message(event_stream_, event_subject(actor_id),
                   "cannot read the latest event of \"" + actor_id + "\"");
  if (!last)
    return last.error();
  cache_entry e;
  e.seq_known = true;
  if (!*last) {
    // No message: sequence 0, and version 0 unless the actor's head says
    // that its events expired.
    if (heads_) {
      auto head = read_head(actor_id);
      if (!head)
        return head.error();
      e.version = *head;
    }
  } else {
    auto* raw = last->get();
    e.seq = natsMsg_GetSequence(raw);
    if (!header_int(raw, hdr_version, e.version))
      return make_persistence_error(persistence_error::corrupt_data,
                                    "the last message of \"" + actor_id
                                      + "\" (sequence " + std::to_string(e.seq)
                                      + ") has no Aether-Version header");
  }
  std::lock_guard<std::mutex> guard{cache_mtx_};
  cache_put(actor_id, e);
  return e;
}

std::string jetstream_store::head_subject(const std::string& actor_id) const {
  return "aether." + ns_ + "." + sanitize_namespace(opts_.stream) + "_heads."
         + subject_token(actor_id);
}

caf::expected<int64_t> jetstream_store::read_head(const std::string& actor_id) {
  auto head = last_message(heads_stream_, head_subject(actor_id),
                           "cannot read the head of \"" + actor_id + "\"");
  if (!head)
    return head.error();
  int64_t version = 0;
  if (*head)
    header_int(head->get(), hdr_version, version);
  return version;
}

void jetstream_store::write_head(const std::string& actor_id, int64_t version) {
  if (!heads_)
    return;
  auto subject = head_subject(actor_id);
  natsMsg* raw = nullptr;
  natsMsg_Create(&raw, subject.c_str(), nullptr, "", 0);
  auto m = own(raw);
  natsMsgHeader_Set(raw, hdr_version, std::to_string(version).c_str());
  // A head that could not be written lags; the actor's next append writes
  // it again (it matters only once every event of the actor expired).
  jsErrCode jerr = static_cast<jsErrCode>(0);
  if (publish_sync(conn_->jetstream(), opts_.timeout, raw, nullptr, jerr)
      != NATS_OK)
    head_failures_ += 1;
}

caf::expected<msg_ptr> jetstream_store::last_message(const std::string& stream,
                                                     const std::string& subject,
                                                     const std::string& what) {
  auto jo = js_opts(opts_.timeout);
  natsMsg* raw = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  auto s = js_GetLastMsg(&raw, conn_->jetstream(), stream.c_str(),
                         subject.c_str(), &jo, &jerr);
  if (s == NATS_NOT_FOUND || jerr == js_no_message_found)
    return own(nullptr);
  if (s != NATS_OK) {
    // A read changes nothing: a timeout is as safe to retry as a refusal.
    auto err = make_nats_error(s, jerr, what);
    if (is(err, persistence_error::unknown_outcome))
      return make_persistence_error(persistence_error::unavailable,
                                    describe(err));
    return err;
  }
  return own(raw);
}

caf::expected<uint64_t>
jetstream_store::last_seq_of(const std::string& stream,
                             const std::string& subject) {
  auto last = last_message(stream, subject, "cannot read \"" + subject + "\"");
  if (!last)
    return last.error();
  return *last ? natsMsg_GetSequence(last->get()) : uint64_t{0};
}

template <class F>
caf::error jetstream_store::walk(const std::string& stream,
                                 const std::string& subject, uint64_t start_seq,
                                 uint64_t last_seq, bool headers_only, F f) {
  if (last_seq == 0 || start_seq > last_seq)
    return caf::none;
  auto jo = js_opts(opts_.timeout);
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = stream.c_str();
  so.Ordered = true;
  so.Config.DeliverPolicy = js_DeliverByStartSequence;
  so.Config.OptStartSeq = start_seq;
  so.Config.HeadersOnly = headers_only;
  natsSubscription* sub = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  auto s = js_SubscribeSync(&sub, conn_->jetstream(), subject.c_str(), &jo, &so,
                            &jerr);
  if (s != NATS_OK)
    return make_nats_error(s, jerr, "cannot read \"" + subject + "\"");
  std::unique_ptr<natsSubscription, void (*)(natsSubscription*)> guard{
    sub, [](natsSubscription* x) {
      natsSubscription_Unsubscribe(x);
      natsSubscription_Destroy(x);
    }};
  for (;;) {
    natsMsg* raw = nullptr;
    s = natsSubscription_NextMsg(&raw, sub, opts_.timeout.count());
    if (s != NATS_OK) {
      auto err = make_nats_error(s, 0, "reading \"" + subject + "\" stalled");
      return make_persistence_error(persistence_error::unavailable,
                                    describe(err));
    }
    auto m = own(raw);
    jsMsgMetaData* meta = nullptr;
    uint64_t seq = 0;
    if (natsMsg_GetMetaData(&meta, raw) == NATS_OK) {
      seq = meta->Sequence.Stream;
      jsMsgMetaData_Destroy(meta);
    }
    bool more = f(raw, seq);
    if (!more || seq >= last_seq)
      return caf::none;
  }
}

namespace {

/// The message of one append: the batch (one event: its JSON; several: a
/// JSON array) with the headers that make the server check and deduplicate.
///
/// The server refuses it unless the subject's last message is `last_seq`
/// (single writer). A clustered stream of nats-server 2.9 (Debian 12 ships
/// 2.9.10) checks that against the applied state only, so two appends
/// proposed at the same moment with the same `last_seq` may both be stored
/// (nats-server issue #4320): a forked history. Message deduplication is
/// checked against what the leader has already accepted, so the message id
/// names the slot, not the event: (actor, first version, last_seq). Two
/// writers racing for one slot send the same id and the second is dropped
/// as a duplicate; a later append never reuses a slot, since `last_seq` only
/// grows. The first event's id travels in its own header (retries recognise
/// themselves).
msg_ptr
append_message(const std::string& subject, const std::vector<event>& batch,
               const std::vector<std::string>& encoded, uint64_t last_seq) {
  std::string body;
  if (encoded.size() == 1) {
    body = encoded.front();
  } else {
    body = "[";
    for (size_t i = 0; i < encoded.size(); ++i) {
      if (i > 0)
        body += ',';
      body += encoded[i];
    }
    body += ']';
  }
  natsMsg* raw = nullptr;
  natsMsg_Create(&raw, subject.c_str(), nullptr, body.data(),
                 static_cast<int>(body.size()));
  auto slot = batch.front().actor_id + "/"
              + std::to_string(batch.front().version) + "/"
              + std::to_string(last_seq);
  natsMsgHeader_Set(raw, hdr_msg_id, slot.c_str());
  natsMsgHeader_Set(raw, hdr_first_id, batch.front().id.c_str());
  natsMsgHeader_Set(raw, hdr_expected_seq, std::to_string(last_seq).c_str());
  natsMsgHeader_Set(raw, hdr_first,
                    std::to_string(batch.front().version).c_str());
  natsMsgHeader_Set(raw, hdr_version,
                    std::to_string(batch.back().version).c_str());
  return own(raw);
}

/// An append that left this process without an acknowledgement.
caf::error unknown_append(const std::string& actor_id, int64_t first,
                          int64_t last, natsStatus why) {
  return make_persistence_error(
    persistence_error::unknown_outcome,
    "append of \"" + actor_id + "\" versions " + std::to_string(first) + ".."
      + std::to_string(last) + " got no acknowledgement ("
      + natsStatus_GetText(why)
      + "); it may or may not be stored; retrying with the same event ids is "
        "safe");
}

/// The bytes a message takes on the wire against the server's max_payload:
/// its data plus its header block ("NATS/1.0\r\n", "Key: Value\r\n" per
/// value, "\r\n").
int64_t wire_size(natsMsg* m) {
  int64_t n = natsMsg_GetDataLength(m);
  const char** keys = nullptr;
  int count = 0;
  if (natsMsgHeader_Keys(m, &keys, &count) == NATS_OK && count > 0) {
    n += 12;
    for (int i = 0; i < count; ++i) {
      const char** values = nullptr;
      int nv = 0;
      if (natsMsgHeader_Values(m, keys[i], &values, &nv) == NATS_OK) {
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

/// A failed append, classified by the one publish classifier (the same for
/// the synchronous and the asynchronous path).
caf::error append_error(const std::string& actor_id, int64_t first,
                        int64_t last, int status, int js_error) {
  auto err = make_publish_error(status, js_error,
                                "cannot append to \"" + actor_id + "\"");
  if (is(err, persistence_error::unknown_outcome))
    return unknown_append(actor_id, first, last,
                          static_cast<natsStatus>(status));
  return err;
}

} // namespace

void jetstream_store::append(std::vector<event> batch, append_callback done) {
  auto encoded = prepare_events(batch, opts_.limits);
  if (!encoded) {
    done(encoded.error());
    return;
  }
  pipeline_->submit(detail::append_pipeline::batch{
    std::move(batch), std::move(*encoded), std::move(done)});
}

bool jetstream_store::start_append(const std::vector<event>& batch,
                                   const std::vector<std::string>& encoded,
                                   const append_callback& done,
                                   const std::function<void()>& run_instead) {
  if (heads_)
    return false; // the head is written after the append, blocking
  if (!conn_->connected())
    return false; // the blocking path reports it
  auto& actor_id = batch.front().actor_id;
  auto first = batch.front().version;
  auto last = batch.back().version;
  cache_entry entry;
  {
    std::lock_guard<std::mutex> guard{cache_mtx_};
    auto i = cache_.find(actor_id);
    if (i == cache_.end() || !i->second.seq_known
        || first != i->second.version + 1)
      return false; // needs a read first: the blocking path does it
    entry = i->second;
  }
  auto m = append_message(event_subject(actor_id), batch, encoded, entry.seq);
  if (check_payload(m.get(), actor_id, first, last))
    return false; // the blocking path refuses it, with the reason
  auto cb = [this, actor_id, first, last, done,
             run_instead](const nats_connection::publish_ack& ack) {
    if (ack.status == NATS_OK && ack.duplicate) {
      // Another writer took this slot first (see append_message); nothing
      // of ours was stored.
      {
        std::lock_guard<std::mutex> guard{cache_mtx_};
        cache_.erase(actor_id);
      }
      duplicates_refused_ += 1;
      done(make_version_conflict(actor_id, first, first));
    } else if (ack.status == NATS_OK) {
      {
        std::lock_guard<std::mutex> guard{cache_mtx_};
        cache_put(actor_id, cache_entry{last, ack.sequence, true});
      }
      done(append_result{last, ack.sequence});
    } else {
      {
        std::lock_guard<std::mutex> guard{cache_mtx_};
        cache_.erase(actor_id);
      }
      if (ack.js_error == js_wrong_last_sequence)
        run_instead(); // stale cache or a deletion marker: read, decide
      else
        done(append_error(actor_id, first, last, ack.status, ack.js_error));
    }
  };
  auto* raw = m.release();
  if (conn_->publish_async(raw, opts_.timeout, std::move(cb))) {
    ++async_appends_;
    return true;
  }
  natsMsg_Destroy(raw);
  return false; // window full or publish refused: the blocking path
}

caf::expected<append_result>
jetstream_store::run_append(const std::vector<event>& batch,
                            const std::vector<std::string>& encoded) {
  auto& actor_id = batch.front().actor_id;
  auto first = batch.front().version;
  auto last = batch.back().version;
  if (!conn_->connected())
    return make_persistence_error(persistence_error::unavailable,
                                  "NATS is not connected; nothing was sent");
  cache_entry entry;
  bool cached = false;
  {
    std::lock_guard<std::mutex> guard{cache_mtx_};
    auto i = cache_.find(actor_id);
    if (i != cache_.end() && i->second.seq_known) {
      entry = i->second;
      cached = true;
    } else if (i != cache_.end() && first <= i->second.version) {
      // Raised by another node's notification: fail fast.
      return make_version_conflict(actor_id, first, i->second.version);
    }
  }
  if (!cached || first > entry.version + 1) {
    auto fresh = read_last(actor_id);
    if (!fresh)
      return fresh.error();
    entry = *fresh;
  }
  if (first != entry.version + 1) {
    if (first <= entry.version && is_own_retry(actor_id, batch))
      return append_result{last, entry.seq};
    return make_version_conflict(actor_id, first, entry.version);
  }
  for (int attempt = 0;; ++attempt) {
    auto m = append_message(event_subject(actor_id), batch, encoded, entry.seq);
    auto* raw = m.get();
    if (auto err = check_payload(raw, actor_id, first, last))
      return err;
    jsPubAck* ack = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    auto s = publish_sync(conn_->jetstream(), opts_.timeout, raw, &ack, jerr);
    if (s == NATS_OK && ack->Duplicate) {
      // The slot is taken: by an earlier attempt of this very append (a retry
      // after an unknown outcome), or by another writer (see append_message).
      append_result res{last, ack->Sequence};
      jsPubAck_Destroy(ack);
      {
        std::lock_guard<std::mutex> guard{cache_mtx_};
        cache_.erase(actor_id);
      }
      if (is_own_retry(actor_id, batch))
        return res;
      duplicates_refused_ += 1;
      auto fresh = read_last(actor_id);
      return make_version_conflict(actor_id, first,
                                   fresh ? fresh->version : first);
    }
    if (s == NATS_OK) {
      append_result res{last, ack->Sequence};
      jsPubAck_Destroy(ack);
      {
        std::lock_guard<std::mutex> guard{cache_mtx_};
        cache_put(actor_id, cache_entry{last, res.position, true});
      }
      write_head(actor_id, last);
      return res;
    }
    {
      std::lock_guard<std::mutex> guard{cache_mtx_};
      cache_.erase(actor_id);
    }
    if (jerr == js_wrong_last_sequence) {
      auto fresh = read_last(actor_id);
      if (fresh && fresh->version == first - 1 && attempt == 0) {
        // The version is right, only the subject's last sequence moved (a
        // deletion marker written since): append again, once.
        entry = *fresh;
        continue;
      }
      auto current = fresh ? fresh->version : entry.version + 1;
      return make_version_conflict(actor_id, first, current);
    }
    return append_error(actor_id, first, last, s, jerr);
  }
}

caf::error jetstream_store::check_payload(natsMsg* m,
                                          const std::string& actor_id,
                                          int64_t first, int64_t last) const {
  // The server drops the connection of a client that sends more than its
  // max_payload (headers included): refuse such a batch here, clearly.
  auto max = natsConnection_GetMaxPayload(conn_->handle());
  auto size = wire_size(m);
  if (max > 0 && size > max)
    return make_persistence_error(
      persistence_error::invalid_argument,
      "events: the batch of \"" + actor_id + "\" (versions "
        + std::to_string(first) + ".." + std::to_string(last) + ") is "
        + std::to_string(size)
        + " bytes with its headers, more than the NATS server's max_payload "
          "of "
        + std::to_string(max) + " bytes; nothing was stored");
  return caf::none;
}

bool jetstream_store::is_own_retry(const std::string& actor_id,
                                   const std::vector<event>& batch) {
  // A retry of an append that did land (after an unknown outcome) finds its
  // own message as the actor's last one: same message id, same versions.
  auto last = last_message(event_stream_, event_subject(actor_id),
                           "cannot read the latest event");
  if (!last || !*last)
    return false;
  auto* raw = last->get();
  const char* id = nullptr;
  int64_t lo = 0;
  int64_t hi = 0;
  // The first event's id: its own header, or (messages written before it
  // existed) the message id.
  if (natsMsgHeader_Get(raw, hdr_first_id, &id) != NATS_OK || id == nullptr)
    natsMsgHeader_Get(raw, hdr_msg_id, &id);
  return id != nullptr && batch.front().id == id
         && header_int(raw, hdr_first, lo) && header_int(raw, hdr_version, hi)
         && lo == batch.front().version && hi == batch.back().version;
}

caf::expected<replay_result>
jetstream_store::get_events_with_errors(const std::string& actor_id,
                                        event_range range) {
  if (auto err = validate_actor_id(actor_id))
    return err;
  replay_result result;
  if (range.max_count == 0 || range.from_version > range.to_version)
    return result;
  auto last = read_last(actor_id);
  if (!last)
    return last.error();
  if (last->seq == 0)
    return result;
  auto subject = event_subject(actor_id);
  auto read = [&](uint64_t start) -> caf::error {
    result = replay_result{};
    // The position of the last message read whole; a message that
    // `max_count` cuts is read again by the next call.
    uint64_t whole = start - 1;
    return walk(
      event_stream_, subject, start, last->seq, false,
      [&](natsMsg* m, uint64_t seq) {
        ++messages_read_;
        int64_t marker = 0;
        if (header_int(m, hdr_deleted_to, marker)) {
          whole = seq;
          result.last_position = whole;
          return true;
        }
        int64_t lo = 0;
        int64_t hi = 0;
        bool has_range = header_int(m, hdr_first, lo)
                         && header_int(m, hdr_version, hi);
        if (has_range && hi < range.from_version) {
          whole = seq;
          result.last_position = whole;
          return true;
        }
        if (has_range && lo > range.to_version)
          return false;
        auto body = body_of(m);
        bool cut = false;
        auto add = [&](event&& e) {
          if (e.version < range.from_version || e.version > range.to_version)
            return;
          if (result.events.size() < range.max_count)
            result.events.push_back(std::move(e));
          else
            cut = true;
        };
        auto fail = [&](const std::string& reason) {
          result.errors.push_back(replay_error{seq, body, reason});
        };
        if (!body.empty() && body.front() == '[') {
          auto v = json_codec::parse(body);
          if (!v || !v->is_array()) {
            fail(v ? "batch is not a JSON array" : describe(v.error()));
          } else {
            for (auto& x : v->get_array()) {
              auto e = json_codec::event_from_json(x);
              if (!e) {
                fail(describe(e.error()));
                break;
              }
              add(std::move(*e));
            }
          }
        } else {
          auto e = json_codec::decode_event(body);
          if (e)
            add(std::move(*e));
          else
            fail(describe(e.error()));
        }
        if (!cut)
          whole = seq;
        result.last_position = whole;
        return !cut && result.events.size() < range.max_count
               && (!has_range || hi < range.to_version);
      });
  };
  auto hinted = range.after_position > 0 && range.after_position < last->seq;
  if (auto err = read(hinted ? range.after_position + 1 : 1))
    return err;
  // A position hint saves reading what comes before it, but it is only a
  // hint (a snapshot's position, say, may come from a server that
  // renumbered after a leader change): if the read after it does not start
  // at the first version asked for, read from the start instead of
  // reporting a gap that is not there.
  if (hinted && result.errors.empty()
      && (result.events.empty()
          || result.events.front().version > range.from_version))
    if (auto err = read(1))
      return err;
  return result;
}

caf::expected<int64_t>
jetstream_store::get_latest_version(const std::string& actor_id) {
  if (auto err = validate_actor_id(actor_id))
    return err;
  auto last = read_last(actor_id);
  if (!last)
    return last.error();
  return last->version;
}

void jetstream_store::update_version_cache(const std::string& actor_id,
                                           int64_t version) {
  std::lock_guard<std::mutex> guard{cache_mtx_};
  auto i = cache_.find(actor_id);
  if (i == cache_.end()) {
    cache_put(actor_id, cache_entry{version, 0, false});
  } else if (version > i->second.version) {
    i->second.version = version;
    i->second.seq_known = false; // the sequence of that version is unknown
  }
}

void jetstream_store::cache_put(const std::string& actor_id,
                                cache_entry entry) {
  // Bounded: an actor forgotten here costs its next append one read of its
  // last message (and a stale writer's fail-fast; the server still refuses
  // it), nothing else.
  if (cache_.size() >= std::max<size_t>(opts_.max_cached_actors, 1)
      && cache_.count(actor_id) == 0)
    cache_.erase(cache_.begin());
  cache_[actor_id] = entry;
}

caf::error jetstream_store::delete_events_to(const std::string& actor_id,
                                             int64_t version) {
  if (auto err = validate_actor_id(actor_id))
    return err;
  auto last = read_last(actor_id);
  if (!last)
    return last.error();
  if (last->seq == 0)
    return caf::none;
  auto subject = event_subject(actor_id);
  auto jo = js_opts(opts_.timeout);
  jsErrCode jerr = static_cast<jsErrCode>(0);
  uint64_t walk_to = last->seq;
  if (version >= last->version) {
    // Everything goes: a marker keeps the latest version knowable and is
    // the subject's last message from now on.
    natsMsg* raw = nullptr;
    natsMsg_Create(&raw, subject.c_str(), nullptr, "", 0);
    auto m = own(raw);
    auto id = make_uuid();
    natsMsgHeader_Set(raw, hdr_msg_id, id.c_str());
    natsMsgHeader_Set(raw, hdr_expected_seq, std::to_string(last->seq).c_str());
    natsMsgHeader_Set(raw, hdr_version, std::to_string(last->version).c_str());
    natsMsgHeader_Set(raw, hdr_deleted_to,
                      std::to_string(last->version).c_str());
    jsPubAck* ack = nullptr;
    auto s = publish_sync(conn_->jetstream(), opts_.timeout, raw, &ack, jerr);
    if (s != NATS_OK)
      return make_publish_error(
        s, jerr, "cannot mark the deletion of \"" + actor_id + "\"");
    {
      std::lock_guard<std::mutex> guard{cache_mtx_};
      cache_put(actor_id, cache_entry{last->version, ack->Sequence, true});
    }
    jsPubAck_Destroy(ack);
  }
  std::vector<uint64_t> doomed;
  auto err = walk(event_stream_, subject, 1, walk_to, true,
                  [&](natsMsg* m, uint64_t seq) {
                    int64_t hi = 0;
                    int64_t marker = 0;
                    if (header_int(m, hdr_deleted_to, marker)) {
                      // An older marker goes; the subject's last message
                      // stays (it keeps the latest version knowable).
                      if (seq != last->seq || version >= last->version)
                        doomed.push_back(seq);
                      return true;
                    }
                    if (header_int(m, hdr_version, hi) && hi <= version)
                      doomed.push_back(seq);
                    return hi <= version;
                  });
  if (err)
    return err;
  for (auto seq : doomed) {
    auto s = js_DeleteMsg(conn_->jetstream(), event_stream_.c_str(), seq, &jo,
                          &jerr);
    if (s != NATS_OK && jerr != js_no_message_found)
      return make_nats_error(s, jerr,
                             "cannot delete events of \"" + actor_id + "\"");
  }
  return caf::none;
}

// -- snapshots
// ------------------------------------------------------------------

struct jetstream_store::stored_message {
  uint64_t seq;
  int64_t version;
  int64_t time_ns;

  static stored_message of(natsMsg* m, uint64_t seq) {
    stored_message x{seq, 0, 0};
    header_int(m, hdr_version, x.version);
    header_int(m, hdr_time, x.time_ns);
    return x;
  }

  bool selected_by(const snapshot_criteria& c) const {
    actor_snapshot probe;
    probe.version = version;
    probe.time = timestamp{std::chrono::nanoseconds{time_ns}};
    return c.matches(probe);
  }
};

caf::error jetstream_store::publish_snapshot(const std::string& actor_id,
                                             const std::string& body,
                                             int64_t version, int64_t time_ns) {
  auto subject = snapshot_subject(actor_id);
  natsMsg* raw = nullptr;
  natsMsg_Create(&raw, subject.c_str(), nullptr, body.data(),
                 static_cast<int>(body.size()));
  auto m = own(raw);
  natsMsgHeader_Set(raw, hdr_version, std::to_string(version).c_str());
  natsMsgHeader_Set(raw, hdr_time, std::to_string(time_ns).c_str());
  jsPubAck* ack = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  auto st = publish_sync(conn_->jetstream(), opts_.timeout, raw, &ack, jerr);
  if (st != NATS_OK)
    return make_publish_error(
      st, jerr, "cannot save the snapshot of \"" + actor_id + "\"");
  jsPubAck_Destroy(ack);
  return caf::none;
}

caf::error jetstream_store::save_snapshot(actor_snapshot snap) {
  auto encoded = prepare_snapshot(snap, opts_.limits);
  if (!encoded)
    return encoded.error();
  if (!conn_->connected())
    return make_persistence_error(persistence_error::unavailable,
                                  "NATS is not connected; nothing was sent");
  // The subject's last message must stay the highest version (so that the
  // latest snapshot is one last-message-by-subject read).
  auto prev = last_message(snapshot_stream_, snapshot_subject(snap.actor_id),
                           "cannot read the snapshot");
  msg_ptr previous = prev ? std::move(*prev) : own(nullptr);
  if (auto err = publish_snapshot(snap.actor_id, *encoded, snap.version,
                                  snap.time.time_since_epoch().count()))
    return err;
  int64_t prev_version = 0;
  int64_t prev_time = 0;
  if (previous && header_int(previous.get(), hdr_version, prev_version)
      && prev_version > snap.version) {
    header_int(previous.get(), hdr_time, prev_time);
    return publish_snapshot(snap.actor_id, body_of(previous.get()),
                            prev_version, prev_time);
  }
  return caf::none;
}

caf::expected<std::optional<actor_snapshot>>
jetstream_store::get_latest_snapshot(const std::string& actor_id,
                                     snapshot_criteria c) {
  if (auto err = validate_actor_id(actor_id))
    return err;
  auto subject = snapshot_subject(actor_id);
  auto decode
    = [&](const std::string& body,
          int64_t version) -> caf::expected<std::optional<actor_snapshot>> {
    auto snap = json_codec::decode_snapshot(body);
    if (!snap)
      return make_corrupt_snapshot(actor_id, version, describe(snap.error()));
    if (snap->actor_id != actor_id || snap->version != version)
      return make_corrupt_snapshot(actor_id, version,
                                   "record names another actor or version");
    return std::optional<actor_snapshot>{std::move(*snap)};
  };
  if (unbounded(c)) {
    auto last
      = last_message(snapshot_stream_, subject,
                     "cannot read the snapshot of \"" + actor_id + "\"");
    if (!last)
      return last.error();
    if (!*last)
      return std::optional<actor_snapshot>{};
    int64_t version = 0;
    header_int(last->get(), hdr_version, version);
    return decode(body_of(last->get()), version);
  }
  auto last = last_seq_of(snapshot_stream_, subject);
  if (!last)
    return last.error();
  std::optional<stored_message> best;
  std::string best_body;
  auto err = walk(snapshot_stream_, subject, 1, *last, false,
                  [&](natsMsg* m, uint64_t seq) {
                    int64_t v = 0;
                    int64_t t = 0;
                    header_int(m, hdr_version, v);
                    header_int(m, hdr_time, t);
                    actor_snapshot probe;
                    probe.version = v;
                    probe.time = timestamp{std::chrono::nanoseconds{t}};
                    if (c.matches(probe) && (!best || v >= best->version)) {
                      best = stored_message{seq, v, t};
                      best_body = body_of(m);
                    }
                    return true;
                  });
  if (err)
    return err;
  if (!best)
    return std::optional<actor_snapshot>{};
  return decode(best_body, best->version);
}

caf::expected<size_t>
jetstream_store::delete_snapshots(const std::string& actor_id,
                                  snapshot_criteria c) {
  if (auto err = validate_actor_id(actor_id))
    return err;
  auto subject = snapshot_subject(actor_id);
  auto last = last_seq_of(snapshot_stream_, subject);
  if (!last)
    return last.error();
  std::vector<uint64_t> doomed;
  std::map<int64_t, bool> versions;
  // The newest snapshot that stays, in case the subject's last message goes.
  std::optional<stored_message> keep;
  std::string keep_body;
  auto err = walk(snapshot_stream_, subject, 1, *last, false,
                  [&](natsMsg* m, uint64_t seq) {
                    auto x = stored_message::of(m, seq);
                    if (x.selected_by(c)) {
                      doomed.push_back(seq);
                      versions[x.version] = true;
                    } else if (!keep || x.version >= keep->version) {
                      keep = x;
                      keep_body = body_of(m);
                    }
                    return true;
                  });
  if (err)
    return err;
  auto jo = js_opts(opts_.timeout);
  jsErrCode jerr = static_cast<jsErrCode>(0);
  bool last_deleted = false;
  for (auto seq : doomed) {
    auto s = js_DeleteMsg(conn_->jetstream(), snapshot_stream_.c_str(), seq,
                          &jo, &jerr);
    if (s != NATS_OK && jerr != js_no_message_found)
      return make_nats_error(s, jerr,
                             "cannot delete snapshots of \"" + actor_id + "\"");
    last_deleted = last_deleted || seq == *last;
  }
  if (last_deleted && keep) {
    // Keep the invariant "the last message is the newest snapshot" (the
    // server does not find a subject's last message once it was deleted).
    if (auto err = publish_snapshot(actor_id, keep_body, keep->version,
                                    keep->time_ns))
      return err;
    auto old = js_DeleteMsg(conn_->jetstream(), snapshot_stream_.c_str(),
                            keep->seq, &jo, &jerr);
    static_cast<void>(old);
  }
  return versions.size();
}

} // namespace aether
