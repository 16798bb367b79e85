#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "net/http/credentials.h"
#include "net/http/message.h"
#include "net/http/principal_mapping.h"
#include "net/http/users_file.h"

// Authentication of HTTP clients (authentication.method, docs/SECURITY.md): who sent a request,
// as a Kafka principal ("User:alice"), before any route runs.
namespace sluice::net {

enum class AuthMethod { none, basic, mtls };

// HTTP Basic against the users file, shared by every listener and I/O thread.
//
// The file is re-read when its modification time or size changes (looked at no more than
// once a second); a file that no longer parses is logged and the users read before stay.
// PBKDF2 runs on a thread of its own, so a flood of wrong passwords slows other logins but
// never an I/O thread; a password once verified is remembered (as a SHA-256 of it and its
// salt) until the file changes, so a client's later requests cost no PBKDF2.
// Failed attempts are counted per client address (a table of at most kMaxTrackedAddresses,
// forgotten kFailureWindow after the last failure): once kFreeFailures have failed, every
// attempt from that address waits kFirstDelay first, doubling per further failure up to
// kMaxDelay.
// A success from the address clears its count.
class BasicAuthenticator {
 public:
  static constexpr size_t kMaxTrackedAddresses = 4096;
  static constexpr std::chrono::seconds kFailureWindow{60};
  static constexpr std::chrono::milliseconds kFirstDelay{100};
  static constexpr std::chrono::milliseconds kMaxDelay{2000};
  static constexpr int kFreeFailures = 3;

  // Reads the file; throws std::runtime_error naming it and the reason.
  explicit BasicAuthenticator(std::filesystem::path users_file);
  ~BasicAuthenticator();

  // The principal ("User:<name>") of `authorization` (the header's value) from `address`, or
  // nullopt; waits first when the address has failed too often. Runs on the caller's executor.
  asio::awaitable<std::optional<std::string>> authenticate(std::string_view authorization,
                                                           const std::string& address);
  // Re-reads the file now if it changed.
  void reload_if_changed();

 private:
  struct Failures {
    int count = 0;
    std::chrono::steady_clock::time_point last;
  };
  struct FileStamp {
    std::filesystem::file_time_type mtime;
    uintmax_t size = 0;
    bool operator==(const FileStamp&) const = default;
  };

  std::chrono::milliseconds delay_for(const std::string& address);
  void record(const std::string& address, bool success);
  std::optional<FileStamp> stamp() const;

  const std::filesystem::path file_;
  asio::thread_pool hasher_{1};
  std::mutex mu_;
  std::shared_ptr<const Users> users_;                     // guarded by mu_
  std::unordered_map<std::string, std::string> verified_;  // user -> sha256; guarded by mu_
  std::unordered_map<std::string, Failures> failures_;     // guarded by mu_
  std::optional<FileStamp> stamp_;                         // guarded by mu_
  std::chrono::steady_clock::time_point last_check_;       // guarded by mu_
};

// The header a broker of the cluster sends its cluster.auth.token in.
inline constexpr std::string_view kClusterTokenHeader = "X-Sluice-Cluster-Token";

// Whether `given` is `token` (compared in constant time); never for an empty token.
bool is_cluster_token(std::string_view given, const std::string& token);

// A listener's authentication: the method and, for basic, the shared authenticator.
// `cluster_token` (cluster.auth.token): a request that carries it comes from another broker of
// the cluster, which authenticates that way on every listener (the router then gives it the
// principal it forwards for, or every right).
struct ListenerAuth {
  AuthMethod method = AuthMethod::none;
  std::shared_ptr<BasicAuthenticator> basic;  // method == basic
  std::string cluster_token;
  // mtls: ssl.principal.mapping.rules (null: the certificate's CN).
  std::shared_ptr<const PrincipalMapping> mapping;
};

// Fills `context.principal` for a request on a listener, or returns the 401 to answer.
// `peer_cn` is the principal name of the verified client certificate (peer_principal_name;
// empty: none sent, or it names none).
asio::awaitable<std::optional<Reply>> authenticate(const ListenerAuth& auth, const Request& header,
                                                   const std::string& peer_cn,
                                                   RequestContext& context);

}  // namespace sluice::net
