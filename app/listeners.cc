#include "app/listeners.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <set>
#include <stdexcept>

namespace sluice::app {
namespace {

net::TlsSettings tls_settings(const config::BrokerConfig& c) {
  net::TlsSettings s;
  s.certificate_file = c.ssl_certificate_location;
  s.key_file = c.ssl_key_location;
  s.key_password = c.ssl_key_password;
  s.ca_file = c.ssl_ca_location;
  s.client_auth = c.ssl_client_auth == "required"    ? net::TlsSettings::ClientAuth::required
                  : c.ssl_client_auth == "requested" ? net::TlsSettings::ClientAuth::requested
                                                     : net::TlsSettings::ClientAuth::none;
  s.tls13_only = c.ssl_protocol_min == "TLSv1.3";
  s.cipher_list = c.ssl_cipher_suites;
  return s;
}

net::AuthMethod auth_method(const std::string& name) {
  if (name == "basic") return net::AuthMethod::basic;
  if (name == "mtls") return net::AuthMethod::mtls;
  return net::AuthMethod::none;
}

}  // namespace

net::ServerOptions server_options_from(const config::BrokerConfig& config) {
  net::ServerOptions o;
  o.threads = config.num_network_threads;
  o.max_request_bytes = static_cast<uint64_t>(config.max_request_size);
  o.max_header_bytes = static_cast<uint32_t>(config.max_header_bytes);
  o.idle_timeout = std::chrono::milliseconds(config.idle_timeout_ms);
  o.read_timeout = std::chrono::milliseconds(config.read_timeout_ms);
  o.write_timeout = std::chrono::milliseconds(config.write_timeout_ms);
  o.handshake_timeout = std::min(o.read_timeout, std::chrono::milliseconds(10000));
  o.max_connections = config.max_connections;
  // One TLS context and one users file for all the listeners that use them.
  std::shared_ptr<net::TlsContext> tls;
  std::shared_ptr<net::BasicAuthenticator> basic;
  std::shared_ptr<const net::PrincipalMapping> mapping;
  o.listeners.clear();
  for (const auto& l : config::parse_listeners(config.listeners)) {
    net::ListenerOptions listener;
    listener.name = l.name;
    listener.host = l.host;
    listener.port = l.port;
    if (l.tls) {
      if (!tls) tls = std::make_shared<net::TlsContext>(tls_settings(config));
      listener.tls = tls;
    }
    listener.auth.method = auth_method(config.authentication_method_of(l.name));
    listener.auth.cluster_token = config.cluster_auth_token;
    if (listener.auth.method == net::AuthMethod::mtls &&
        config.ssl_principal_mapping_rules != "DEFAULT") {
      if (!mapping) {
        try {
          mapping =
              std::make_shared<const net::PrincipalMapping>(config.ssl_principal_mapping_rules);
        } catch (const std::invalid_argument& e) {
          throw std::runtime_error(fmt::format("ssl.principal.mapping.rules: {}", e.what()));
        }
      }
      listener.auth.mapping = mapping;
    }
    if (listener.auth.method == net::AuthMethod::basic) {
      if (!basic) {
        basic = std::make_shared<net::BasicAuthenticator>(config.authentication_basic_users_file);
      }
      listener.auth.basic = basic;
    }
    o.listeners.push_back(std::move(listener));
  }
  return o;
}

void reload_security(const net::ServerOptions& options) {
  std::set<net::TlsContext*> contexts;
  std::set<net::BasicAuthenticator*> users;
  for (const auto& l : options.listeners) {
    if (l.tls) contexts.insert(l.tls.get());
    if (l.auth.basic) users.insert(l.auth.basic.get());
  }
  for (auto* tls : contexts) {
    if (auto error = tls->reload(); error.empty()) {
      spdlog::info("TLS certificate and key re-read; new connections use them");
    } else {
      spdlog::error("TLS certificate and key not re-read, the previous ones stay: {}", error);
    }
  }
  for (auto* basic : users) basic->reload_if_changed();
}

std::string listener_url(const net::ServerOptions& options, const net::HttpServer& server,
                         size_t i) {
  const auto& l = options.listeners.at(i);
  const bool v6 = l.host.find(':') != std::string::npos;
  return fmt::format("{}://{}{}{}:{}", l.tls ? "https" : "http", v6 ? "[" : "", l.host,
                     v6 ? "]" : "", server.port(i));
}

}  // namespace sluice::app
