#include "aether/nats/nats_connection.hpp"

#include "aether/core/error.hpp"
#include "nats_access.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/config_option_adder.hpp>
#include <caf/config_option_set.hpp>
#include <caf/timespan.hpp>
#include <nats/nats.h>
#include <vector>

namespace aether {

namespace {

caf::error option_error(natsStatus s, const char* what) {
  return make_persistence_error(persistence_error::invalid_argument,
                                std::string{"NATS option "} + what + ": "
                                  + natsStatus_GetText(s));
}

// Replaces every secret of the options (password, token, the user info of
// URLs) in a text by "***".
std::string redact(std::string text, const nats_options& o) {
  std::vector<std::string> secrets{o.password, o.token};
  for (auto& u : o.servers) {
    auto scheme = u.find("://");
    auto at = u.rfind('@');
    if (scheme != std::string::npos && at != std::string::npos && at > scheme)
      secrets.push_back(u.substr(scheme + 3, at - scheme - 3));
  }
  for (auto& secret : secrets) {
    if (secret.empty())
      continue;
    for (auto i = text.find(secret); i != std::string::npos;
         i = text.find(secret, i + 3))
      text.replace(i, secret.size(), "***");
  }
  return text;
}

std::chrono::milliseconds ms(caf::timespan x) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(x);
}

} // namespace

nats_options nats_options::from_config(const caf::actor_system_config& cfg) {
  nats_options o;
  auto servers = caf::get_or(cfg, "aether.nats.servers",
                             std::vector<std::string>{});
  if (!servers.empty())
    o.servers = servers;
  o.name = caf::get_or(cfg, "aether.nats.name", o.name);
  o.user = caf::get_or(cfg, "aether.nats.user", o.user);
  o.password = caf::get_or(cfg, "aether.nats.password", o.password);
  o.token = caf::get_or(cfg, "aether.nats.token", o.token);
  o.credentials_file = caf::get_or(cfg, "aether.nats.credentials",
                                   o.credentials_file);
  o.tls = caf::get_or(cfg, "aether.nats.tls", o.tls);
  o.tls_ca = caf::get_or(cfg, "aether.nats.tls-ca", o.tls_ca);
  o.tls_cert = caf::get_or(cfg, "aether.nats.tls-cert", o.tls_cert);
  o.tls_key = caf::get_or(cfg, "aether.nats.tls-key", o.tls_key);
  o.connect_timeout = ms(caf::get_or(cfg, "aether.nats.connect-timeout",
                                     caf::timespan{o.connect_timeout}));
  o.reconnect_wait = ms(caf::get_or(cfg, "aether.nats.reconnect-wait",
                                    caf::timespan{o.reconnect_wait}));
  o.max_reconnect = static_cast<int>(
    caf::get_or(cfg, "aether.nats.max-reconnect", int64_t{o.max_reconnect}));
  o.request_timeout = ms(caf::get_or(cfg, "aether.nats.request-timeout",
                                     caf::timespan{o.request_timeout}));
  o.send_asap = caf::get_or(cfg, "aether.nats.send-asap", o.send_asap);
  return o;
}

void add_nats_options(caf::config_option_set& options) {
  caf::config_option_adder{options, "aether.nats"}
    .add<std::vector<std::string>>("servers", "NATS server URLs")
    .add<std::string>("name", "connection name")
    .add<std::string>("user", "user name")
    .add<std::string>("password", "password")
    .add<std::string>("token", "authentication token")
    .add<std::string>("credentials", "path of a .creds file")
    .add<bool>("tls", "require TLS")
    .add<std::string>("tls-ca", "CA certificate file")
    .add<std::string>("tls-cert", "client certificate file")
    .add<std::string>("tls-key", "client key file")
    .add<caf::timespan>("connect-timeout", "first connect timeout")
    .add<caf::timespan>("reconnect-wait", "wait between reconnects")
    .add<int64_t>("max-reconnect", "reconnect attempts (-1: forever)")
    .add<caf::timespan>("request-timeout", "JetStream request timeout")
    .add<bool>("send-asap", "write every publish at once (false: batch)");
}

nats_connection::nats_connection(nats_options opts) : opts_(std::move(opts)) {
  // nop
}

void detail_nats_access::on_ack(jsCtx*, natsMsg* msg, jsPubAck* pa,
                                jsPubAckErr* pae, void* closure) {
  int status = NATS_OK;
  int js_error = 0;
  uint64_t seq = 0;
  bool dup = false;
  if (pa != nullptr) {
    seq = pa->Sequence;
    dup = pa->Duplicate;
  } else if (pae != nullptr) {
    status = pae->Err == NATS_OK ? NATS_ERR : pae->Err;
    js_error = pae->ErrCode;
  } else {
    status = NATS_ERR;
  }
  auto* self = static_cast<nats_connection*>(closure);
  nats_connection::raw_ack cb;
  {
    std::lock_guard<std::mutex> guard{self->pending_mtx_};
    auto i = self->pending_.find(msg);
    if (i != self->pending_.end()) {
      cb = std::move(i->second);
      self->pending_.erase(i);
    }
  }
  if (cb)
    cb(status, js_error, seq, dup);
  natsMsg_Destroy(msg);
}

bool detail_nats_access::publish_async(nats_connection& c, natsMsg*& msg,
                                       std::chrono::milliseconds timeout,
                                       nats_connection::raw_ack done) {
  auto* key = msg;
  {
    std::lock_guard<std::mutex> guard{c.pending_mtx_};
    c.pending_.emplace(key, std::move(done));
  }
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = timeout.count();
  if (js_PublishMsgAsync(c.js_, &msg, &po) == NATS_OK)
    return true;
  std::lock_guard<std::mutex> guard{c.pending_mtx_};
  c.pending_.erase(key);
  return false;
}

nats_connection::~nats_connection() {
  if (js_ != nullptr) {
    // Let outstanding asynchronous publishes finish (bounded).
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = opts_.request_timeout.count();
    js_PublishAsyncComplete(js_, &po);
  }
  if (js_ != nullptr)
    jsCtx_Destroy(js_);
  if (conn_ != nullptr) {
    natsConnection_Close(conn_);
    natsConnection_Destroy(conn_);
  }
}

uint64_t nats_connection::reconnects() const {
  return stats().reconnects;
}

nats_connection::statistics nats_connection::stats() const {
  statistics out;
  natsStatistics* st = nullptr;
  if (natsStatistics_Create(&st) != NATS_OK)
    return out;
  if (natsConnection_GetStats(conn_, st) == NATS_OK)
    natsStatistics_GetCounts(st, &out.in_msgs, &out.in_bytes, &out.out_msgs,
                             &out.out_bytes, &out.reconnects);
  natsStatistics_Destroy(st);
  return out;
}

caf::error nats_connection::flush(std::chrono::milliseconds timeout) {
  auto s = natsConnection_FlushTimeout(conn_, timeout.count());
  if (s != NATS_OK)
    return make_nats_error(s, 0, "cannot flush the NATS connection");
  return caf::none;
}

int64_t nats_connection::max_payload() const {
  return natsConnection_GetMaxPayload(conn_);
}

bool nats_connection::connected() const {
  return natsConnection_Status(conn_) == NATS_CONN_STATUS_CONNECTED;
}

caf::expected<std::shared_ptr<nats_connection>>
nats_connection::connect(const nats_options& o) {
  natsOptions* opts = nullptr;
  if (auto s = natsOptions_Create(&opts); s != NATS_OK)
    return option_error(s, "create");
  std::unique_ptr<natsOptions, void (*)(natsOptions*)> guard{
    opts, natsOptions_Destroy};
  std::vector<const char*> urls;
  for (auto& u : o.servers)
    urls.push_back(u.c_str());
  if (urls.empty())
    return make_persistence_error(persistence_error::invalid_argument,
                                  "nats_options.servers: must not be empty");
  natsStatus s = natsOptions_SetServers(opts, urls.data(),
                                        static_cast<int>(urls.size()));
  if (s != NATS_OK)
    return option_error(s, "servers");
  natsOptions_SetName(opts, o.name.c_str());
  natsOptions_SetTimeout(opts, o.connect_timeout.count());
  natsOptions_SetReconnectWait(opts, o.reconnect_wait.count());
  natsOptions_SetMaxReconnect(opts, o.max_reconnect);
  natsOptions_SetAllowReconnect(opts, true);
  natsOptions_SetSendAsap(opts, o.send_asap);
  natsOptions_SetFailRequestsOnDisconnect(opts, true);
  if (!o.user.empty())
    natsOptions_SetUserInfo(opts, o.user.c_str(), o.password.c_str());
  if (!o.token.empty())
    natsOptions_SetToken(opts, o.token.c_str());
  if (!o.credentials_file.empty()) {
    s = natsOptions_SetUserCredentialsFromFiles(
      opts, o.credentials_file.c_str(), nullptr);
    if (s != NATS_OK)
      return option_error(s, "credentials file");
  }
  if (o.tls || !o.tls_ca.empty()) {
    if ((s = natsOptions_SetSecure(opts, true)) != NATS_OK)
      return option_error(s, "tls");
    if (!o.tls_ca.empty()
        && (s = natsOptions_LoadCATrustedCertificates(opts, o.tls_ca.c_str()))
             != NATS_OK)
      return option_error(s, "tls-ca");
    if (!o.tls_cert.empty()
        && (s = natsOptions_LoadCertificatesChain(opts, o.tls_cert.c_str(),
                                                  o.tls_key.c_str()))
             != NATS_OK)
      return option_error(s, "tls-cert/tls-key");
  }
  std::shared_ptr<nats_connection> result{new nats_connection(o)};
  natsConnection* conn = nullptr;
  // nats.c 3.4.1 leaves the signature of the server's nonce out of CONNECT
  // when the signature's first byte is zero (its base64 encoder returns
  // nothing for input that starts with a zero byte), so with a credentials
  // file the server refuses 1 connection in 256 ("Signature missing"). The
  // nonce is new for every connection: a refused one is tried again, up to
  // 4 times in all (a wrong credentials file is refused every time).
  auto attempts = o.credentials_file.empty() ? 1 : 4;
  for (int i = 0; i < attempts; ++i) {
    s = natsConnection_Connect(&conn, opts);
    if (s != NATS_CONNECTION_AUTH_FAILED && s != NATS_NOT_PERMITTED)
      break;
  }
  if (s != NATS_OK) {
    std::string what = "cannot connect to NATS (";
    for (size_t i = 0; i < o.servers.size(); ++i) {
      // Only the host part: URLs may carry credentials.
      auto& u = o.servers[i];
      auto at = u.rfind('@');
      auto scheme = u.find("://");
      what += i > 0 ? ", " : "";
      if (at != std::string::npos && scheme != std::string::npos)
        what += u.substr(0, scheme + 3) + "***@" + u.substr(at + 1);
      else
        what += u;
    }
    what += "): ";
    what += natsStatus_GetText(s);
    // nats.c's own detail (e.g. why a TLS handshake failed), without its
    // "(file.c:123): " prefix and without any secret.
    std::string detail = nats_GetLastError(nullptr);
    if (auto p = detail.find("): ");
        !detail.empty() && detail[0] == '(' && p != std::string::npos)
      detail.erase(0, p + 3);
    if (!detail.empty() && detail != natsStatus_GetText(s))
      what += " (" + redact(detail, o) + ")";
    auto code = s == NATS_NOT_PERMITTED || s == NATS_CONNECTION_AUTH_FAILED
                  ? persistence_error::not_authorized
                  : persistence_error::unavailable;
    if (code == persistence_error::not_authorized)
      what += "; check the user/password, token or credentials file";
    else if (!o.tls && o.tls_ca.empty()
             && (s == NATS_PROTOCOL_ERROR || s == NATS_SSL_ERROR
                 || s == NATS_SECURE_CONNECTION_REQUIRED))
      what += "; if the server requires TLS, set tls (and tls-ca)";
    return make_persistence_error(code, what);
  }
  result->conn_ = conn;
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = o.request_timeout.count();
  jo.PublishAsync.MaxPending = max_pending_publishes;
  jo.PublishAsync.AckHandler = detail_nats_access::on_ack;
  jo.PublishAsync.AckHandlerClosure = result.get();
  jo.PublishAsync.StallWait = 1;
  if ((s = natsConnection_JetStream(&result->js_, conn, &jo)) != NATS_OK)
    return make_persistence_error(persistence_error::unavailable,
                                  std::string{"cannot open JetStream: "}
                                    + natsStatus_GetText(s));
  return result;
}

caf::error nats_connection::publish(const std::string& subject,
                                    const std::string& data,
                                    const std::string& reply) {
  auto len = static_cast<int>(data.size());
  auto s = reply.empty()
             ? natsConnection_Publish(conn_, subject.c_str(), data.data(), len)
             : natsConnection_PublishRequest(conn_, subject.c_str(),
                                             reply.c_str(), data.data(), len);
  if (s != NATS_OK)
    return make_nats_error(s, 0, "cannot publish on \"" + subject + "\"");
  return caf::none;
}

caf::error make_nats_error(int status, int js_error, const std::string& what) {
  auto s = static_cast<natsStatus>(status);
  std::string text = what + ": " + natsStatus_GetText(s);
  if (js_error != 0)
    text += " (JetStream error " + std::to_string(js_error) + ")";
  switch (s) {
    case NATS_TIMEOUT:
      return make_persistence_error(persistence_error::unknown_outcome, text);
    case NATS_NO_RESPONDERS:
    case NATS_CONNECTION_CLOSED:
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_NO_SERVER:
    case NATS_IO_ERROR:
    case NATS_STALE_CONNECTION:
      return make_persistence_error(persistence_error::unavailable, text);
    case NATS_NOT_PERMITTED:
      return make_persistence_error(persistence_error::not_authorized, text);
    case NATS_INVALID_ARG:
    case NATS_INVALID_SUBJECT:
    case NATS_MAX_PAYLOAD:
      return make_persistence_error(persistence_error::invalid_argument, text);
    default:
      return make_persistence_error(persistence_error::store_failure, text);
  }
}

} // namespace aether
