#include "aether/nats/kv_bucket.hpp"

#include "aether/core/error.hpp"

#include <nats/nats.h>

namespace aether {

namespace {

constexpr const char* hdr_expected_seq = "Nats-Expected-Last-Subject-Sequence";

caf::error setting_mismatch(const std::string& bucket, const char* setting,
                            int64_t have, int64_t want) {
  return make_persistence_error(
    persistence_error::invalid_argument,
    "key-value bucket \"" + bucket + "\": " + setting + " is "
      + std::to_string(have) + ", expected " + std::to_string(want)
      + " (delete the bucket or use the same settings on every node)");
}

} // namespace

kv_bucket::kv_bucket(std::shared_ptr<nats_connection> conn,
                     kv_bucket_options opts, kvStore* kv)
  : conn_(std::move(conn)), opts_(std::move(opts)), kv_(kv) {
  // nop
}

kv_bucket::~kv_bucket() {
  kvStore_Destroy(kv_);
}

caf::expected<std::unique_ptr<kv_bucket>>
kv_bucket::open(std::shared_ptr<nats_connection> conn,
                const kv_bucket_options& opts) {
  if (opts.name.empty()
      || opts.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz"
                                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
           != std::string::npos)
    return make_persistence_error(persistence_error::invalid_argument,
                                  "key-value bucket name \"" + opts.name
                                    + "\": letters, digits, - and _ only");
  if (opts.ttl.count() < 0 || opts.replicas < 1 || opts.replicas > 5)
    return make_persistence_error(persistence_error::invalid_argument,
                                  "key-value bucket \"" + opts.name
                                    + "\": ttl >= 0 and 1 <= replicas <= 5");
  kvStore* kv = nullptr;
  auto s = js_KeyValue(&kv, conn->jetstream(), opts.name.c_str());
  if (s == NATS_NOT_FOUND) {
    kvConfig cfg;
    kvConfig_Init(&cfg);
    cfg.Bucket = opts.name.c_str();
    cfg.History = 1;
    // nats.c 3.4.1 takes the TTL in nanoseconds (the stream's max age).
    cfg.TTL = std::chrono::nanoseconds{opts.ttl}.count();
    cfg.Replicas = opts.replicas;
    cfg.StorageType = js_FileStorage;
    s = js_CreateKeyValue(&kv, conn->jetstream(), &cfg);
  }
  if (s != NATS_OK) {
    natsStatus ignored;
    const char* detail = nats_GetLastError(&ignored);
    return make_nats_error(s, 0,
                           "cannot open key-value bucket \"" + opts.name + "\""
                             + (detail ? std::string{" ("} + detail + ")"
                                       : std::string{}));
  }
  std::unique_ptr<kv_bucket> result{new kv_bucket(conn, opts, kv)};
  kvStatus* sts = nullptr;
  if ((s = kvStore_Status(&sts, kv)) != NATS_OK)
    return make_nats_error(
      s, 0, "cannot read key-value bucket \"" + opts.name + "\"");
  auto ttl = std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::nanoseconds{kvStatus_TTL(sts)})
               .count();
  auto replicas = kvStatus_Replicas(sts);
  kvStatus_Destroy(sts);
  if (ttl != opts.ttl.count())
    return setting_mismatch(opts.name, "ttl (ms)", ttl, opts.ttl.count());
  if (replicas != opts.replicas)
    return setting_mismatch(opts.name, "replicas", replicas, opts.replicas);
  return result;
}

caf::expected<std::optional<kv_entry>> kv_bucket::get(const std::string& key) {
  // From the stream's leader (nats.c's kvStore_Get may be answered by any
  // replica of a replicated bucket, which can be behind: a value that
  // expired or changed there later than on the leader).
  jsOptions o;
  jsOptions_Init(&o);
  o.Wait = conn_->options().request_timeout.count();
  natsMsg* m = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  auto subject = "$KV." + opts_.name + "." + key;
  auto s = js_GetLastMsg(&m, conn_->jetstream(), ("KV_" + opts_.name).c_str(),
                         subject.c_str(), &o, &jerr);
  if (s == NATS_NOT_FOUND)
    return std::optional<kv_entry>{};
  if (s != NATS_OK)
    return make_nats_error(
      s, jerr, "cannot read \"" + key + "\" of \"" + opts_.name + "\"");
  const char* op = nullptr;
  if (natsMsgHeader_Get(m, "KV-Operation", &op) == NATS_OK && op
      && (std::string{op} == "DEL" || std::string{op} == "PURGE")) {
    natsMsg_Destroy(m);
    return std::optional<kv_entry>{};
  }
  kv_entry out;
  out.key = key;
  if (auto* d = natsMsg_GetData(m))
    out.value.assign(d, static_cast<size_t>(natsMsg_GetDataLength(m)));
  out.revision = natsMsg_GetSequence(m);
  natsMsg_Destroy(m);
  return std::optional<kv_entry>{std::move(out)};
}

caf::expected<uint64_t> kv_bucket::write(const std::string& key,
                                         const std::string& value,
                                         const uint64_t* expected_last) {
  auto subject = "$KV." + opts_.name + "." + key;
  natsMsg* m = nullptr;
  auto s = natsMsg_Create(&m, subject.c_str(), nullptr, value.data(),
                          static_cast<int>(value.size()));
  if (s != NATS_OK)
    return make_nats_error(s, 0, "cannot write \"" + key + "\"");
  if (expected_last)
    natsMsgHeader_Set(m, hdr_expected_seq,
                      std::to_string(*expected_last).c_str());
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = conn_->options().request_timeout.count();
  jsPubAck* ack = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  s = js_PublishMsg(&ack, conn_->jetstream(), m, &po, &jerr);
  natsMsg_Destroy(m);
  if (s != NATS_OK && jerr == JSStreamWrongLastSequenceErr)
    return make_persistence_error(
      persistence_error::version_conflict,
      "\"" + key + "\" of \"" + opts_.name + "\" changed since revision "
        + std::to_string(expected_last ? *expected_last : 0));
  if (s != NATS_OK)
    return make_publish_error(
      s, jerr, "cannot write \"" + key + "\" of \"" + opts_.name + "\"");
  auto rev = ack->Sequence;
  jsPubAck_Destroy(ack);
  return rev;
}

caf::expected<uint64_t> kv_bucket::create(const std::string& key,
                                          const std::string& value) {
  uint64_t none = 0;
  return write(key, value, &none);
}

caf::expected<uint64_t> kv_bucket::update(const std::string& key,
                                          const std::string& value,
                                          uint64_t last) {
  return write(key, value, &last);
}

caf::expected<uint64_t> kv_bucket::put(const std::string& key,
                                       const std::string& value) {
  return write(key, value, nullptr);
}

caf::error kv_bucket::remove(const std::string& key) {
  auto s = kvStore_Delete(kv_, key.c_str());
  if (s != NATS_OK)
    return make_nats_error(
      s, 0, "cannot delete \"" + key + "\" of \"" + opts_.name + "\"");
  return caf::none;
}

caf::expected<std::vector<std::string>> kv_bucket::keys() {
  // From the stream's per-subject counts: one request, no consumer (nats.c's
  // kvStore_Keys creates a consumer per call, which on a replicated bucket
  // is a round of the servers' consensus each time).
  auto prefix = "$KV." + opts_.name + ".";
  jsOptions o;
  jsOptions_Init(&o);
  auto filter = prefix + ">";
  o.Stream.Info.SubjectsFilter = filter.c_str();
  o.Wait = conn_->options().request_timeout.count();
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  auto s = js_GetStreamInfo(&si, conn_->jetstream(),
                            ("KV_" + opts_.name).c_str(), &o, &jerr);
  if (s != NATS_OK)
    return make_nats_error(s, jerr,
                           "cannot list keys of \"" + opts_.name + "\"");
  std::vector<std::string> out;
  if (auto* subjects = si->State.Subjects)
    for (int i = 0; i < subjects->Count; ++i) {
      std::string subject = subjects->List[i].Subject;
      if (subject.rfind(prefix, 0) == 0)
        out.push_back(subject.substr(prefix.size()));
    }
  jsStreamInfo_Destroy(si);
  return out;
}

} // namespace aether
