#pragma once

// Files for tests of NATS security: a shell command runner (openssl) and a
// throwaway certificate authority with server and client certificates.

#include "temp_dir.hpp"

#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>

namespace aether::test {

// -- files and openssl --------------------------------------------------------

inline void write_file(const std::string& path, const std::string& text) {
  std::ofstream out{path, std::ios::binary};
  out << text;
  if (!out)
    throw std::runtime_error("cannot write " + path);
}

// Runs a shell command and returns its standard output (binary safe); a
// failing command fails the test with what it printed.
inline std::string run(const std::string& cmd) {
  auto full = cmd + " 2>&1";
  auto* p = ::popen(full.c_str(), "r");
  if (!p)
    throw std::runtime_error("cannot run " + cmd);
  std::string out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof(buf), p)) > 0;)
    out.append(buf, n);
  if (::pclose(p) != 0)
    throw std::runtime_error(cmd + " failed: " + out);
  return out;
}

// A CA, a server certificate for 127.0.0.1 and a client certificate, made
// with openssl in a temporary directory (valid for two days).
struct tls_setup {
  temp_dir dir;
  std::string ca = dir.file("ca.pem");
  std::string other_ca = dir.file("other-ca.pem");
  std::string server_cert = dir.file("server.pem");
  std::string server_key = dir.file("server.key");
  std::string client_cert = dir.file("client.pem");
  std::string client_key = dir.file("client.key");

  tls_setup() {
    auto ec = std::string{" -newkey ec -pkeyopt ec_paramgen_curve:prime256v1"
                          " -nodes"};
    run("openssl req -x509" + ec + " -keyout " + dir.file("ca.key") + " -out "
        + ca + " -subj /CN=aether-test-ca -days 2");
    run("openssl req -x509" + ec + " -keyout " + dir.file("other-ca.key")
        + " -out " + other_ca + " -subj /CN=someone-else -days 2");
    issue("server", server_cert, server_key,
          "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
          "extendedKeyUsage=serverAuth\n");
    issue("client", client_cert, client_key, "extendedKeyUsage=clientAuth\n");
  }

  void issue(const std::string& name, const std::string& cert,
             const std::string& key, const std::string& ext) {
    auto csr = dir.file(name + ".csr");
    auto ext_file = dir.file(name + ".ext");
    write_file(ext_file, ext);
    run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
        " -keyout "
        + key + " -out " + csr + " -subj /CN=aether-" + name);
    run("openssl x509 -req -in " + csr + " -CA " + ca + " -CAkey "
        + dir.file("ca.key") + " -CAcreateserial -days 2 -out " + cert
        + " -extfile " + ext_file);
  }

  std::string server_config() const {
    return "tls {\n  cert_file: \"" + server_cert + "\"\n  key_file: \""
           + server_key + "\"\n  ca_file: \"" + ca
           + "\"\n  verify: true\n  timeout: 2\n}\n";
  }
};

} // namespace aether::test
