#include "recovery/report.h"

#include <fmt/format.h>

#include <algorithm>

#include "common/json_string.h"

namespace sluice::recovery {
namespace {

std::string json_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ", ";
    out += json_quote(items[i]);
  }
  return out + "]";
}

}  // namespace

uint64_t RecoveryReport::total_bytes_scanned() const {
  uint64_t n = 0;
  for (const auto& p : partitions) n += p.bytes_scanned;
  return n;
}

uint64_t RecoveryReport::total_bytes_quarantined() const {
  uint64_t n = 0;
  for (const auto& p : partitions) n += p.bytes_quarantined;
  return n;
}

double RecoveryReport::mb_per_s() const {
  if (duration_s <= 0) return 0;
  return static_cast<double>(total_bytes_scanned()) / 1e6 / duration_s;
}

bool RecoveryReport::failed() const {
  return std::any_of(partitions.begin(), partitions.end(),
                     [](const PartitionReport& p) { return !p.failure.empty(); });
}

std::string to_json(const PartitionReport& p) {
  return fmt::format(
      "{{\"partition\": {}, \"dir\": {}, \"mode\": {}, \"segments\": {}, "
      "\"segments_scanned\": {}, \"segments_skipped\": {}, \"segments_removed\": {}, "
      "\"batches\": {}, \"records\": {}, \"bytes_scanned\": {}, \"bytes_quarantined\": {}, "
      "\"indexes_rebuilt\": {}, \"next_offset\": {}, \"truncation\": {}, \"strays\": {}, "
      "\"ignored\": {}, \"problems\": {}, \"repairs\": {}, \"failure\": {}}}",
      json_quote(p.name), json_quote(p.dir.string()), json_quote(p.mode), p.segments,
      p.segments_scanned, p.segments_skipped, p.segments_removed, p.batches, p.records,
      p.bytes_scanned, p.bytes_quarantined, p.indexes_rebuilt, p.next_offset.value,
      p.truncation ? json_quote(*p.truncation) : std::string("null"), json_list(p.strays),
      json_list(p.ignored), json_list(p.problems), json_list(p.repairs),
      p.failure.empty() ? std::string("null") : json_quote(p.failure));
}

std::string to_json(const RecoveryReport& report, const std::filesystem::path* log_dir) {
  std::string parts;
  uint64_t scanned = 0;
  uint64_t quarantined = 0;
  size_t count = 0;
  for (const auto& p : report.partitions) {
    if (log_dir != nullptr && p.dir.parent_path() != *log_dir) continue;
    if (count++ > 0) parts += ",\n    ";
    parts += to_json(p);
    scanned += p.bytes_scanned;
    quarantined += p.bytes_quarantined;
  }
  std::vector<std::string> dirs;
  std::string clean = "[";
  for (size_t i = 0; i < report.log_dirs.size(); ++i) {
    dirs.push_back(report.log_dirs[i].string());
    if (i > 0) clean += ", ";
    clean += i < report.clean_shutdown.size() && report.clean_shutdown[i] ? "true" : "false";
  }
  clean += "]";
  const double mbps =
      report.duration_s > 0 ? static_cast<double>(scanned) / 1e6 / report.duration_s : 0.0;
  return fmt::format(
      "{{\n  \"mode\": {}, \"read_only\": {}, \"log_dirs\": {}, \"clean_shutdown\": {},\n"
      "  \"partitions\": [\n    {}\n  ],\n  \"totals\": {{\"partitions\": {}, "
      "\"bytes_scanned\": {}, \"bytes_quarantined\": {}, \"duration_s\": {:.3f}, "
      "\"mb_per_s\": {:.1f}}}\n}}\n",
      json_quote(config::to_string(report.mode)), report.read_only, json_list(dirs), clean, parts,
      count, scanned, quarantined, report.duration_s, mbps);
}

}  // namespace sluice::recovery
