#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "net/http/server.h"

namespace sluice::app {

// The server's options from the broker configuration: every listener of `listeners` with its
// TLS context (ssl.*) and authentication (authentication.*), and every limit. Throws
// std::runtime_error naming the file (or key) and the reason when a certificate, key, CA
// file or users file cannot be used.
net::ServerOptions server_options_from(const config::BrokerConfig& config);

// What SIGHUP re-reads: the certificate and key of the https listeners, and the users file.
void reload_security(const net::ServerOptions& options);

// "scheme://host:port" of listener `i` with the port it bound.
std::string listener_url(const net::ServerOptions& options, const net::HttpServer& server,
                         size_t i);

}  // namespace sluice::app
