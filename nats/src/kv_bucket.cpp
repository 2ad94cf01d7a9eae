#include "aether/nats/kv_bucket.hpp"

#include "aether/core/error.hpp"
#include "nats_access.hpp"

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
  : conn_(conn), js_(conn, conn->options().request_timeout),
    opts_(std::move(opts)), kv_(kv) {
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
  auto s = js_KeyValue(&kv, detail_nats_access::js(*conn), opts.name.c_str());
  if (s == NATS_NOT_FOUND) {
    kvConfig cfg;
    kvConfig_Init(&cfg);
    cfg.Bucket = opts.name.c_str();
    cfg.History = 1;
    // nats.c 3.4.1 takes the TTL in nanoseconds (the stream's max age).
    cfg.TTL = std::chrono::nanoseconds{opts.ttl}.count();
    cfg.Replicas = opts.replicas;
    cfg.StorageType = js_FileStorage;
    s = js_CreateKeyValue(&kv, detail_nats_access::js(*conn), &cfg);
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
  auto m = js_.last_message("KV_" + opts_.name,
                            "$KV." + opts_.name + "." + key);
  if (!m)
    return m.error(); // names the bucket and the key: "$KV.<bucket>.<key>"
  if (!*m)
    return std::optional<kv_entry>{};
  auto op = m->header("KV-Operation");
  if (op && (*op == "DEL" || *op == "PURGE"))
    return std::optional<kv_entry>{};
  kv_entry out;
  out.key = key;
  out.value = std::string{m->data()};
  out.revision = m->sequence();
  return std::optional<kv_entry>{std::move(out)};
}

caf::expected<uint64_t> kv_bucket::write(const std::string& key,
                                         const std::string& value,
                                         const uint64_t* expected_last) {
  jetstream_message m{"$KV." + opts_.name + "." + key, value};
  if (!m)
    return make_persistence_error(persistence_error::invalid_argument,
                                  "cannot write \"" + key + "\" of \""
                                    + opts_.name + "\": not a valid subject");
  if (expected_last)
    m.set_header(hdr_expected_seq, std::to_string(*expected_last));
  auto ack = js_.publish(m);
  if (!ack && is(ack.error(), persistence_error::version_conflict))
    return make_persistence_error(
      persistence_error::version_conflict,
      "\"" + key + "\" of \"" + opts_.name + "\" changed since revision "
        + std::to_string(expected_last ? *expected_last : 0));
  if (!ack)
    return ack.error(); // names the bucket and the key: "$KV.<bucket>.<key>"
  return ack->sequence;
}

caf::expected<uint64_t> kv_bucket::create(const std::string& key,
                                          const std::string& value) {
  uint64_t none = 0;
  auto r = write(key, value, &none);
  if (r || !is(r.error(), persistence_error::version_conflict))
    return r;
  // A deleted key has no value either (as nats.c's kvStore_Create): write
  // over its delete marker, if that is still the key's last message.
  auto m = js_.last_message("KV_" + opts_.name,
                            "$KV." + opts_.name + "." + key);
  if (!m)
    return m.error();
  if (!*m)
    return r;
  auto op = m->header("KV-Operation");
  if (!op || (*op != "DEL" && *op != "PURGE"))
    return r;
  auto last = m->sequence();
  return write(key, value, &last);
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
  auto info = js_.info("KV_" + opts_.name, prefix + ">");
  if (!info)
    return info.error();
  std::vector<std::string> out;
  for (auto& kv : info->subjects)
    if (kv.first.rfind(prefix, 0) == 0)
      out.push_back(kv.first.substr(prefix.size()));
  return out;
}

} // namespace aether
