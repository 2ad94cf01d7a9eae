#include "aether/tool/store_url.hpp"

#include "aether/core/error.hpp"

#include <cctype>

namespace aether::tool {

namespace {

caf::error bad_url(const std::string& shown, const std::string& why) {
  return make_persistence_error(persistence_error::invalid_argument,
                                "store URL \"" + shown + "\": " + why
                                  + " (use sqlite:///path/to/file.db or "
                                    "nats://host:4222)");
}

// Checks one `[user[:password]@]host:port` of a NATS URL.
caf::error check_server(const std::string& shown, std::string_view server) {
  auto at = server.rfind('@');
  auto host_port = at == std::string_view::npos ? server
                                                : server.substr(at + 1);
  if (host_port.empty())
    return bad_url(shown, "no host");
  auto colon = host_port.rfind(':');
  if (colon == std::string_view::npos)
    return caf::none; // nats.c's default port
  auto host = host_port.substr(0, colon);
  auto port = host_port.substr(colon + 1);
  if (host.empty())
    return bad_url(shown, "no host before \":" + std::string{port} + "\"");
  if (port.empty() || port.size() > 5)
    return bad_url(shown, "port \"" + std::string{port}
                            + "\" is not a number from 1 to 65535");
  for (auto c : port)
    if (!std::isdigit(static_cast<unsigned char>(c)))
      return bad_url(shown, "port \"" + std::string{port}
                              + "\" is not a number from 1 to 65535");
  auto n = std::stoi(std::string{port});
  if (n < 1 || n > 65535)
    return bad_url(shown, "port \"" + std::string{port}
                            + "\" is not a number from 1 to 65535");
  return caf::none;
}

// The comma-separated servers after `scheme://`.
std::vector<std::string_view> split_servers(std::string_view rest) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos <= rest.size()) {
    auto end = rest.find(',', pos);
    if (end == std::string_view::npos)
      end = rest.size();
    out.push_back(rest.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

} // namespace

std::string redact_url(std::string_view text) {
  auto sep = text.find("://");
  // A file path is not a secret (and may hold `:` and `@`).
  if (sep != std::string_view::npos && text.substr(0, sep) == "sqlite")
    return std::string{text};
  auto head = sep == std::string_view::npos ? 0 : sep + 3;
  std::string out{text.substr(0, head)};
  // Each server may carry `user:password@` or `token@`: the password or
  // the token becomes `***`.
  auto servers = split_servers(text.substr(head));
  for (size_t i = 0; i < servers.size(); ++i) {
    auto server = servers[i];
    if (i > 0)
      out += ',';
    auto at = server.rfind('@');
    if (at == std::string_view::npos) {
      out.append(server);
      continue;
    }
    auto colon = server.find(':');
    if (colon < at)
      out.append(server.substr(0, colon + 1));
    out.append("***").append(server.substr(at));
  }
  return out;
}

caf::expected<store_url> parse_store_url(std::string_view text) {
  store_url url;
  url.shown = redact_url(text);
  auto sep = text.find("://");
  if (sep == std::string_view::npos)
    return bad_url(url.shown, "no scheme");
  auto scheme = text.substr(0, sep);
  auto rest = text.substr(sep + 3);
  if (scheme == "sqlite") {
    url.kind = store_url::scheme::sqlite;
    // sqlite:///abs/path -> "/abs/path"; sqlite://rel/path -> "rel/path".
    if (rest.empty() || rest == "/")
      return bad_url(url.shown, "no database file after \"sqlite://\"");
    url.path = std::string{rest};
    return url;
  }
  if (scheme == "nats" || scheme == "tls") {
    url.kind = store_url::scheme::nats;
    if (rest.empty())
      return bad_url(url.shown,
                     "no host after \"" + std::string{scheme} + "://\"");
    for (auto server : split_servers(rest)) {
      // A path or query has no meaning for NATS.
      if (server.find('/') != std::string_view::npos)
        return bad_url(url.shown, "a NATS URL has no path");
      if (auto err = check_server(url.shown, server))
        return err;
      url.servers.push_back(std::string{scheme} + "://" + std::string{server});
    }
    return url;
  }
  return bad_url(url.shown, "unknown scheme \"" + std::string{scheme} + "\"");
}

} // namespace aether::tool
