#pragma once

#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

#include "tests/net/broker_process.h"
#include "tests/temp_dir.h"

// Helpers of the TLS and authentication tests: shell commands (openssl, curl), certificates
// made for the test in a temporary directory, and the port of a broker's https listener.
namespace sluice::testing {

struct ShellResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// Runs `command` with /bin/sh, standard input from /dev/null unless the command redirects it.
inline ShellResult shell(const std::string& command) {
  FILE* pipe = ::popen(("(" + command + ") </dev/null 2>&1").c_str(), "r");
  if (pipe == nullptr) return {-1, "popen failed"};
  ShellResult result;
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) result.output.append(buf, n);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// A CA, a server certificate for 127.0.0.1 and localhost, and a client certificate (CN
// alice) it signed; another CA that signed nothing here. Made with the openssl command in a
// temporary directory, removed with it.
class TestPki {
 public:
  TestPki() {
    run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2"
        " -subj /CN=sluice-test-ca -keyout ca.key -out ca.pem");
    run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2"
        " -subj /CN=other-ca -keyout other-ca.key -out other-ca.pem");
    issue("server", "/CN=localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost", 1);
    issue("client", "/CN=alice", "extendedKeyUsage=clientAuth", 1);
  }

  std::string path(const std::string& name) const { return dir_.file(name).string(); }

  // A certificate and key `name`.pem / `name`.key signed by the CA, valid for `days` from
  // `shift` (a faketime offset such as "-3d": then an expired one).
  void issue(const std::string& name, const std::string& subject, const std::string& extension,
             int days, const std::string& shift = "") {
    const std::string faketime = shift.empty() ? "" : "faketime -f '" + shift + "' ";
    run("printf '%s\\n' '" + extension + "' > " + name + ".ext");
    run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj " + subject +
        " -keyout " + name + ".key -out " + name + ".csr");
    run(faketime + "openssl x509 -req -in " + name + ".csr -CA ca.pem -CAkey ca.key" +
        " -CAcreateserial -days " + std::to_string(days) + " -extfile " + name + ".ext -out " +
        name + ".pem");
  }

  // The --set keys of an https listener beside the plain one the harness starts.
  std::vector<std::string> https_sets() const {
    return {"listeners=http://127.0.0.1:0,https://127.0.0.1:0",
            "ssl.certificate.location=" + path("server.pem"),
            "ssl.key.location=" + path("server.key")};
  }

 private:
  void run(const std::string& command) const {
    const auto r = shell("cd " + dir_.path().string() + " && " + command);
    if (r.exit_code != 0) throw std::runtime_error(command + " failed:\n" + r.output);
  }

  TempDir dir_;
};

// The port of the broker's listener whose URL starts with `scheme` ("https"), from the line
// it logs at start-up.
inline uint16_t listener_port(const BrokerProcess& broker, const std::string& scheme) {
  const std::string out = broker.output();
  const std::string marker = "listening on " + scheme + "://127.0.0.1:";
  const size_t at = out.find(marker);
  if (at == std::string::npos) throw std::runtime_error("no " + scheme + " listener:\n" + out);
  return static_cast<uint16_t>(std::stoi(out.substr(at + marker.size())));
}

}  // namespace sluice::testing
