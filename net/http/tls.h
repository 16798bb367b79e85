#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "net/http/message.h"

namespace boost::asio::ssl {
class context;
}

namespace sluice::net {

// What an https listener's TLS context is made of (the ssl.* keys, docs/SECURITY.md).
struct TlsSettings {
  std::string certificate_file;  // PEM: the server certificate, then its chain
  std::string key_file;          // PEM: its private key
  std::string key_password;      // for an encrypted key; empty: none
  std::string ca_file;           // PEM: CAs that client certificates must chain to; empty: none
  enum class ClientAuth { none, requested, required } client_auth = ClientAuth::none;
  bool tls13_only = false;  // ssl.protocol.min=TLSv1.3 (else TLS 1.2 is the floor)
  std::string cipher_list;  // TLS 1.2 ciphers, OpenSSL syntax
};

// The server's TLS context, rebuilt from its files on reload() while connections that began
// with the previous one keep it (each connection holds a reference to the context it started
// with). load() and reload() check what a broker must not start with: a missing or unreadable
// file, a key that does not match the certificate, a certificate that has expired or is not
// valid yet, a bad CA file or cipher list.
//
// Threading: current() and reload() may be called from any thread.
class TlsContext {
 public:
  // Throws std::runtime_error naming the file (or key) and the reason.
  explicit TlsContext(TlsSettings settings);
  ~TlsContext();

  // The context for a new connection.
  std::shared_ptr<asio::ssl::context> current() const;
  // Re-reads the files: returns an empty string when the new context is in use, else why
  // the files were refused (the previous context stays in use).
  std::string reload();

 private:
  TlsSettings settings_;
  mutable std::mutex mu_;
  std::shared_ptr<asio::ssl::context> context_;  // guarded by mu_
};

// What a client's TLS context is made of, for the connections a broker opens to other brokers
// (the ssl.* keys) and to etcd (etcd.ssl.*): `key_prefix` ("ssl", "etcd.ssl") names the keys in
// error messages.
struct ClientTlsSettings {
  std::string key_prefix = "ssl";
  std::string ca_file;           // PEM: CAs the server's certificate must chain to; empty: the
                                 // system's CAs
  std::string certificate_file;  // PEM: a certificate to present (mTLS); empty: none
  std::string key_file;          // PEM: its key
  std::string key_password;      // for an encrypted key; empty: none
};

// A client context that verifies the server's certificate (chain, validity; the host name is
// checked per connection) and presents `certificate_file` when a server asks for one. Throws
// std::runtime_error naming the key, the file and the reason.
std::shared_ptr<asio::ssl::context> client_tls_context(const ClientTlsSettings& settings);

// The subject CN of the peer certificate of a TLS connection (its native SSL*), or an empty
// string when the peer sent none.
std::string peer_common_name(void* ssl);
// The subject of the peer certificate in RFC 2253 form ("CN=alice,OU=ops,O=acme"), or an empty
// string when the peer sent none.
std::string peer_subject(void* ssl);

}  // namespace sluice::net
