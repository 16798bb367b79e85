#include "net/http/tls.h"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <boost/asio/ssl.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace sluice::net {
namespace {

// The most recent OpenSSL error as text (the queue is emptied).
std::string openssl_error() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    const std::string reason =
        ERR_reason_error_string(e) != nullptr ? ERR_reason_error_string(e) : buf;
    if (out.find(reason) != std::string::npos) continue;
    if (!out.empty()) out += "; ";
    out += reason;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

[[noreturn]] void fail(std::string_view key, const std::string& file, const std::string& why) {
  throw std::runtime_error(fmt::format("{} '{}': {}", key, file, why));
}

// Refuses a file that cannot be opened, with the system's reason.
void check_readable(std::string_view key, const std::string& file) {
  FILE* f = std::fopen(file.c_str(), "rb");
  if (f == nullptr) fail(key, file, std::strerror(errno));
  std::fclose(f);
}

std::string asn1_time_text(const ASN1_TIME* t) {
  BIO* bio = BIO_new(BIO_s_mem());
  ASN1_TIME_print(bio, t);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string text(data, static_cast<size_t>(std::max(0L, n)));
  BIO_free(bio);
  return text;
}

// The first certificate of the file must be valid now.
void check_validity(std::string_view key, const std::string& file) {
  FILE* f = std::fopen(file.c_str(), "rb");
  if (f == nullptr) fail(key, file, std::strerror(errno));
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (cert == nullptr) {
    fail(key, file, "not a PEM certificate (" + openssl_error() + ")");
  }
  const ASN1_TIME* not_after = X509_get0_notAfter(cert);
  const ASN1_TIME* not_before = X509_get0_notBefore(cert);
  const bool expired = X509_cmp_current_time(not_after) < 0;
  const bool early = X509_cmp_current_time(not_before) > 0;
  const std::string until = asn1_time_text(not_after);
  const std::string from = asn1_time_text(not_before);
  X509_free(cert);
  if (expired) fail(key, file, "the certificate expired on " + until);
  if (early) fail(key, file, "the certificate is not valid before " + from);
}

int password_callback(char* buf, int size, int, void* userdata) {
  const auto* password = static_cast<const std::string*>(userdata);
  const int n = std::min(size, static_cast<int>(password->size()));
  std::memcpy(buf, password->data(), static_cast<size_t>(n));
  return n;
}

// Has OpenSSL compute what it caches of `x`'s extensions (key identifiers, key usage) now,
// while one thread holds the context. OpenSSL 3.0 computes them on first use and then reads
// them without its lock, so two handshakes verifying against the same CA on two network
// threads at once raced (ThreadSanitizer: ASN1_STRING_set against ASN1_STRING_cmp).
void cache_extensions(X509* x) {
  if (x != nullptr) X509_check_purpose(x, -1, 0);
}

// Trusts the CA certificates of `file` (the key `key` names it).
void load_ca(SSL_CTX* ctx, std::string_view key, const std::string& file) {
  check_readable(key, file);
  if (SSL_CTX_load_verify_locations(ctx, file.c_str(), nullptr) != 1) {
    fail(key, file, "not PEM CA certificates (" + openssl_error() + ")");
  }
  STACK_OF(X509_OBJECT)* objects = X509_STORE_get0_objects(SSL_CTX_get_cert_store(ctx));
  for (int i = 0; i < sk_X509_OBJECT_num(objects); ++i) {
    cache_extensions(X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objects, i)));
  }
}

// Loads the certificate chain and its key into `ctx`; `prefix` names the keys ("ssl" gives
// ssl.certificate.location and ssl.key.location).
void use_certificate_and_key(SSL_CTX* ctx, std::string_view prefix, const std::string& cert_file,
                             const std::string& key_file, const std::string& key_password) {
  const std::string cert_key = fmt::format("{}.certificate.location", prefix);
  const std::string key_key = fmt::format("{}.key.location", prefix);
  check_readable(cert_key, cert_file);
  check_validity(cert_key, cert_file);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1) {
    fail(cert_key, cert_file, "not a PEM certificate chain (" + openssl_error() + ")");
  }
  check_readable(key_key, key_file);
  FILE* key_in = std::fopen(key_file.c_str(), "rb");
  if (key_in == nullptr) fail(key_key, key_file, std::strerror(errno));
  std::string password = key_password;
  EVP_PKEY* key = PEM_read_PrivateKey(key_in, nullptr, password_callback, &password);
  std::fclose(key_in);
  if (key == nullptr) {
    fail(key_key, key_file,
         fmt::format("not a PEM private key, or {}.key.password is wrong ({})", prefix,
                     openssl_error()));
  }
  const int key_ok = SSL_CTX_use_PrivateKey(ctx, key);
  EVP_PKEY_free(key);
  if (key_ok != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    ERR_clear_error();
    fail(key_key, key_file, "the key does not match the certificate in '" + cert_file + "'");
  }
  cache_extensions(SSL_CTX_get0_certificate(ctx));
  STACK_OF(X509)* chain = nullptr;
  if (SSL_CTX_get0_chain_certs(ctx, &chain) == 1) {
    for (int i = 0; i < sk_X509_num(chain); ++i) cache_extensions(sk_X509_value(chain, i));
  }
}

std::shared_ptr<asio::ssl::context> build(const TlsSettings& s) {
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  SSL_CTX* ctx = context->native_handle();
  ERR_clear_error();
  SSL_CTX_set_options(
      ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_min_proto_version(ctx, s.tls13_only ? TLS1_3_VERSION : TLS1_2_VERSION);
  if (SSL_CTX_set_cipher_list(ctx, s.cipher_list.c_str()) != 1) {
    fail("ssl.cipher.suites", s.cipher_list, "no cipher matches (" + openssl_error() + ")");
  }
  // TLS 1.3 in the server's order of preference: AES-128-GCM, the mandatory suite, is also the
  // fastest with AES-NI (OpenSSL's default order starts with AES-256-GCM).
  SSL_CTX_set_ciphersuites(ctx,
                           "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
                           "TLS_CHACHA20_POLY1305_SHA256");
  use_certificate_and_key(ctx, "ssl", s.certificate_file, s.key_file, s.key_password);
  if (!s.ca_file.empty()) {
    load_ca(ctx, "ssl.ca.location", s.ca_file);
    // Sent in the certificate request, so clients pick a certificate this CA signed.
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(s.ca_file.c_str())) {
      SSL_CTX_set_client_CA_list(ctx, names);
    }
  }
  switch (s.client_auth) {
    case TlsSettings::ClientAuth::none:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
      break;
    case TlsSettings::ClientAuth::requested:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
      break;
    case TlsSettings::ClientAuth::required:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
      break;
  }
  // Session resumption with client certificates needs an id context.
  static constexpr unsigned char kSessionContext[] = "sluice";
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof(kSessionContext) - 1);
  return context;
}

}  // namespace

TlsContext::TlsContext(TlsSettings settings)
    : settings_(std::move(settings)), context_(build(settings_)) {}

TlsContext::~TlsContext() = default;

std::shared_ptr<asio::ssl::context> TlsContext::current() const {
  std::lock_guard lock(mu_);
  return context_;
}

std::string TlsContext::reload() {
  try {
    auto fresh = build(settings_);
    std::lock_guard lock(mu_);
    context_ = std::move(fresh);
    return {};
  } catch (const std::exception& e) {
    return e.what();
  }
}

std::shared_ptr<asio::ssl::context> client_tls_context(const ClientTlsSettings& s) {
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX* ctx = context->native_handle();
  ERR_clear_error();
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (s.ca_file.empty()) {
    SSL_CTX_set_default_verify_paths(ctx);
  } else {
    load_ca(ctx, fmt::format("{}.ca.location", s.key_prefix), s.ca_file);
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  if (!s.certificate_file.empty() || !s.key_file.empty()) {
    use_certificate_and_key(ctx, s.key_prefix, s.certificate_file, s.key_file, s.key_password);
  }
  return context;
}

std::string peer_subject(void* ssl) {
  X509* cert = SSL_get1_peer_certificate(static_cast<SSL*>(ssl));
  if (cert == nullptr) return {};
  std::string dn;
  if (BIO* bio = BIO_new(BIO_s_mem())) {
    if (X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0,
                           XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
      char* data = nullptr;
      const long n = BIO_get_mem_data(bio, &data);
      if (n > 0) dn.assign(data, static_cast<size_t>(n));
    }
    BIO_free(bio);
  }
  X509_free(cert);
  return dn;
}

std::string peer_common_name(void* ssl) {
  X509* cert = SSL_get1_peer_certificate(static_cast<SSL*>(ssl));
  if (cert == nullptr) return {};
  std::string cn;
  const X509_NAME* subject = X509_get_subject_name(cert);
  const int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (at >= 0) {
    const ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at));
    unsigned char* utf8 = nullptr;
    const int n = ASN1_STRING_to_UTF8(&utf8, value);
    if (n > 0) cn.assign(reinterpret_cast<const char*>(utf8), static_cast<size_t>(n));
    OPENSSL_free(utf8);
  }
  X509_free(cert);
  return cn;
}

}  // namespace sluice::net
