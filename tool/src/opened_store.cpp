#include "aether/tool/opened_store.hpp"

#include "aether/core/error.hpp"
#include "aether/jetstream/jetstream_store.hpp"
#include "aether/nats/jetstream.hpp"
#include "aether/nats/nats_connection.hpp"
#include "aether/sqlite/sqlite_store.hpp"

#include <filesystem>

namespace aether::tool {

opened_store::opened_store(opened_store&&) noexcept = default;
opened_store& opened_store::operator=(opened_store&&) noexcept = default;

opened_store::~opened_store() {
  // The store goes before the connection it uses.
  store_.reset();
}

caf::expected<std::shared_ptr<nats_connection>>
opened_store::connect(const store_url& url, const store_options& opts) {
  if (url.kind != store_url::scheme::nats)
    return make_persistence_error(persistence_error::invalid_argument,
                                  "store URL \"" + url.shown
                                    + "\": this needs a nats:// URL");
  nats_options no;
  no.servers = url.servers;
  no.name = "aether-cli";
  no.credentials_file = opts.credentials_file;
  no.token = opts.token;
  no.tls = opts.tls || !opts.tls_cert.empty();
  for (auto& server : url.servers)
    no.tls = no.tls || server.rfind("tls://", 0) == 0;
  no.tls_ca = opts.tls_ca;
  no.tls_cert = opts.tls_cert;
  no.tls_key = opts.tls_key;
  no.connect_timeout = opts.timeout;
  no.request_timeout = opts.timeout;
  // A command fails rather than waiting for a server that went away.
  no.max_reconnect = 3;
  if (!no.credentials_file.empty()
      && !std::filesystem::is_regular_file(no.credentials_file))
    return make_persistence_error(persistence_error::not_found,
                                  "credentials file \"" + no.credentials_file
                                    + "\" does not exist");
  return nats_connection::connect(no);
}

caf::expected<opened_store>
opened_store::open(const store_url& url, const store_options& opts, mode m) {
  // An existing store is taken as it is (a JetStream namespace with its own
  // limits or replicas included); only a missing one is created.
  if (m == mode::existing)
    return open_store(url, opts, access::read_only);
  auto existing = open_store(url, opts, access::write_existing);
  if (existing || !is(existing.error(), persistence_error::not_found))
    return existing;
  return open_store(url, opts, access::create);
}

caf::expected<opened_store> opened_store::open_store(const store_url& url,
                                                     const store_options& opts,
                                                     access how) {
  auto create = how == access::create;
  opened_store result;
  result.shown_ = url.shown;
  result.kind_ = url.kind;
  if (url.kind == store_url::scheme::sqlite) {
    sqlite_store::options so;
    so.path = url.path;
    so.create = create;
    so.read_only = how == access::read_only;
    so.busy_timeout = opts.timeout;
    auto st = sqlite_store::open(std::move(so));
    if (!st)
      return st.error();
    result.path_ = url.path;
    result.store_ = std::move(*st);
    return result;
  }
  auto conn = connect(url, opts);
  if (!conn)
    return conn.error();
  jetstream_store::options jo;
  jo.ns = opts.ns;
  jo.stream = opts.stream;
  jo.snapshot_stream = opts.snapshot_stream;
  jo.timeout = opts.timeout;
  jo.create = create;
  auto st = jetstream_store::open(*conn, std::move(jo));
  if (!st)
    return st.error();
  result.conn_ = std::move(*conn);
  result.store_ = std::move(*st);
  return result;
}

std::vector<std::pair<std::string, std::string>>
opened_store::storage_facts() const {
  std::vector<std::pair<std::string, std::string>> facts;
  if (kind_ == store_url::scheme::sqlite) {
    facts.emplace_back("file", path_);
    std::error_code ec;
    for (auto [what, suffix] :
         {std::pair{"file bytes", ""}, std::pair{"wal bytes", "-wal"}}) {
      auto size = std::filesystem::file_size(path_ + suffix, ec);
      facts.emplace_back(what, ec ? "-" : std::to_string(size));
    }
    return facts;
  }
  auto& js_store = static_cast<const jetstream_store&>(*store_);
  jetstream js{conn_, std::chrono::seconds{5}};
  for (auto [what, name] :
       {std::pair{"event stream", js_store.event_stream_name()},
        std::pair{"snapshot stream", js_store.snapshot_stream_name()}}) {
    std::string key{what};
    facts.emplace_back(key, name);
    auto info = js.info(name);
    if (!info) {
      facts.emplace_back(key + " error", describe(info.error()));
      continue;
    }
    facts.emplace_back(key + " messages", std::to_string(info->messages));
    facts.emplace_back(key + " bytes", std::to_string(info->bytes));
    facts.emplace_back(key + " replicas",
                       std::to_string(info->config.replicas));
  }
  return facts;
}

} // namespace aether::tool
