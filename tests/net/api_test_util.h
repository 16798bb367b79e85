#pragma once

// Small helpers the HTTP integration suites share.

#include <gtest/gtest.h>
#include <simdjson.h>

#include <map>
#include <string>

#include "tests/net/http_client.h"

namespace sluice::testing {

inline const std::map<std::string, std::string> kJson = {
    {"Content-Type", "application/vnd.kafka.json.v2+json"}};
inline const std::map<std::string, std::string> kBinary = {
    {"Content-Type", "application/vnd.kafka.binary.v2+json"}};
inline const std::map<std::string, std::string> kV3Json = {{"Content-Type", "application/json"}};
inline const std::map<std::string, std::string> kAcceptJson = {
    {"Accept", "application/vnd.kafka.json.v2+json"}};
inline const std::map<std::string, std::string> kAcceptRaw = {
    {"Accept", "application/vnd.sluice.batch"}};

inline simdjson::dom::element parse(simdjson::dom::parser& parser, const std::string& body) {
  simdjson::dom::element doc;
  EXPECT_EQ(parser.parse(body).get(doc), simdjson::SUCCESS) << body;
  return doc;
}

// The REST Proxy error_code of an error reply, or -1 when the body has none.
inline int64_t error_code_of(const HttpResponse& r) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  int64_t code = -1;
  if (parser.parse(r.body).get(doc) != simdjson::SUCCESS) return -1;
  if (doc["error_code"].get(code) != simdjson::SUCCESS) return -1;
  return code;
}

// The cluster id the broker reports.
inline std::string cluster_id(uint16_t port) {
  auto r = http_request(port, "GET", "/v3/clusters");
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view id;
  if (parser.parse(r.body).get(doc) || doc["data"].at(0)["cluster_id"].get(id)) return {};
  return std::string(id);
}

}  // namespace sluice::testing
