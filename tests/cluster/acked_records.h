#pragma once

// The zero-loss checks of the replication and partition tests: single-record acks=all
// produces, reading a partition back, and checking that what was acknowledged is there.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>

#include "tests/net/broker_process.h"
#include "tests/net/http_client.h"

namespace sluice::testing {

inline const std::map<std::string, std::string> kJsonV2 = {
    {"Content-Type", "application/vnd.kafka.json.v2+json"}};
inline const std::map<std::string, std::string> kAcceptJson = {
    {"Accept", "application/vnd.kafka.json.v2+json"}};

// One acks=all produce of a single record: its offset, or the error code (-1 when none came).
struct Produced {
  int status = 0;
  int64_t offset = -1;
  int64_t error_code = -1;
  std::string body;
};

inline Produced produce_one(const HttpTarget& to, const std::string& topic, int64_t partition,
                            const std::string& value) {
  Produced out;
  try {
    auto r = http_request(
        to, "POST", "/topics/" + topic + "/partitions/" + std::to_string(partition) + "?acks=all",
        R"({"records":[{"value":")" + value + R"("}]})", kJsonV2);
    out.status = r.status;
    out.body = r.body;
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (parser.parse(r.body).get(doc)) return out;
    if (r.status == 200) {
      auto o = doc["offsets"].at(0);
      if (o["offset"].is_int64()) out.offset = o["offset"].get_int64().value();
      if (o["error_code"].is_int64()) out.error_code = o["error_code"].get_int64().value();
    } else if (doc["error_code"].is_int64()) {
      out.error_code = doc["error_code"].get_int64().value();
    }
  } catch (const std::exception& e) {
    out.body = e.what();
  }
  return out;
}

inline Produced produce_one(uint16_t port, const std::string& topic, int64_t partition,
                            const std::string& value) {
  return produce_one(HttpTarget{.port = port}, topic, partition, value);
}

// Every record of partition p from offset 0 (up to the high watermark): offset -> value.
inline std::map<int64_t, std::string> read_all(const HttpTarget& from, const std::string& topic,
                                               int64_t p) {
  std::map<int64_t, std::string> out;
  int64_t next = 0;
  for (int round = 0; round < 1000; ++round) {
    auto r = http_request(from, "GET",
                          "/topics/" + topic + "/partitions/" + std::to_string(p) +
                              "/records?timeout=0&offset=" + std::to_string(next),
                          {}, kAcceptJson);
    if (r.status != 200) throw std::runtime_error("fetch: " + r.body);
    simdjson::dom::parser parser;
    auto records = parser.parse(r.body).get_array().value();
    if (records.size() == 0) break;
    for (auto rec : records) {
      next = rec["offset"].get_int64().value();
      out[next] = std::string(rec["value"].get_string().value());
      ++next;
    }
  }
  return out;
}

inline std::map<int64_t, std::string> read_all(uint16_t port, const std::string& topic, int64_t p) {
  return read_all(HttpTarget{.port = port}, topic, p);
}

// Every acknowledged record (value -> offset) is in `log` at its offset with its bytes, once;
// a record whose answer was indeterminate (50304 or no answer) is there at most once.
inline void expect_acknowledged_records(const std::map<int64_t, std::string>& log,
                                        const std::map<std::string, int64_t>& acked,
                                        const std::map<std::string, int64_t>& unconfirmed) {
  std::map<std::string, int> seen;
  for (const auto& [offset, value] : log) ++seen[value];
  for (const auto& [value, offset] : acked) {
    auto it = log.find(offset);
    ASSERT_NE(it, log.end()) << value << " acknowledged at " << offset << " is missing";
    EXPECT_EQ(it->second, value) << "offset " << offset;
    EXPECT_EQ(seen[value], 1) << value;
  }
  for (const auto& [value, n] : unconfirmed) EXPECT_LE(seen[value], 1) << value;
}

// `sluice dump` of a partition's first segment without its header line: equal for two
// replicas that hold the same batches.
inline std::string dump(const std::filesystem::path& data_dir, const std::string& partition_dir) {
  auto r = run_sluice({"dump", (data_dir / partition_dir / "00000000000000000000.log").string()});
  const auto newline = r.output.find('\n');
  if (r.exit_code != 0 || newline == std::string::npos) return "dump failed: " + r.output;
  return r.output.substr(newline + 1);
}

}  // namespace sluice::testing
