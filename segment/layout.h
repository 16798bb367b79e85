#pragma once

#include <fmt/format.h>

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/file.h"
#include "common/topic_name.h"
#include "common/types.h"

// The names of everything the broker keeps on disk, each spelled once. docs/FORMAT.md describes
// the same tree:
//
//   <log.dir>/meta.properties, .clean_shutdown, recovery-point-offset-checkpoint,
//             recovery-report.json
//   <log.dir>/<topic>-<partition>/<base offset>.log, .index, .timeindex, topic.properties,
//             log-start-offset, leader-epoch-checkpoint
//   <log.dir>/quarantine/<topic>-<partition>/...
namespace sluice::segment {

// A segment's files: its base offset as 20 digits, then one of these.
inline constexpr std::string_view kLogSuffix = ".log";
inline constexpr std::string_view kIndexSuffix = ".index";
inline constexpr std::string_view kTimeIndexSuffix = ".timeindex";
// A file or directory renamed on its way out (retention, topic deletion); recovery removes it.
inline constexpr std::string_view kDeletedSuffix = ".deleted";
// A file being written by write_file_atomically; recovery removes it.
inline constexpr std::string_view kTempSuffix = sluice::kTempFileSuffix;

// In a partition directory.
inline constexpr std::string_view kTopicConfigFile = "topic.properties";  // topic overrides
inline constexpr std::string_view kLogStartOffsetFile = "log-start-offset";
inline constexpr std::string_view kLeaderEpochFile = "leader-epoch-checkpoint";  // epoch history

// In a log dir.
inline constexpr std::string_view kMetaFile = "meta.properties";
inline constexpr std::string_view kCleanShutdownFile = ".clean_shutdown";
inline constexpr std::string_view kRecoveryCheckpointFile = "recovery-point-offset-checkpoint";
inline constexpr std::string_view kRecoveryReportFile = "recovery-report.json";
// Held (flock) by the broker or tool using the log dir, with the holder's PID in it.
inline constexpr std::string_view kLogDirLockFile = ".lock";
// What recovery cuts, under one directory per partition named like the partition's own.
inline constexpr std::string_view kQuarantineDir = "quarantine";

// "00000000000000000042" + suffix: a segment's files are named by its base offset.
inline std::string segment_file_name(Offset base, std::string_view suffix) {
  return fmt::format("{:020d}{}", base.value, suffix);
}

// The base offset a file name encodes, or nullopt if it is not 20 digits + `suffix`.
inline std::optional<Offset> parse_segment_file_name(std::string_view name,
                                                     std::string_view suffix) {
  if (name.size() != 20 + suffix.size() || !name.ends_with(suffix)) return std::nullopt;
  int64_t value = 0;
  const char* end = name.data() + 20;
  auto [ptr, ec] = std::from_chars(name.data(), end, value);
  if (ec != std::errc{} || ptr != end || value < 0) return std::nullopt;
  return Offset{value};
}

// "<topic>-<partition>": a partition's directory, its quarantine directory, and its key in
// recovery-point-offset-checkpoint.
inline std::string partition_dir_name(std::string_view topic, int32_t partition) {
  return fmt::format("{}-{}", topic, partition);
}

// The topic and partition of a partition directory name: the topic is everything before the
// last '-' and must be a valid topic name, the partition the decimal after it. nullopt for any
// other name, including "quarantine" and "*.deleted".
inline std::optional<std::pair<std::string, int32_t>> parse_partition_dir_name(
    std::string_view name) {
  const auto dash = name.rfind('-');
  if (dash == std::string_view::npos || dash + 1 >= name.size()) return std::nullopt;
  const std::string_view digits = name.substr(dash + 1);
  int32_t partition = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), partition);
  if (ec != std::errc{} || ptr != digits.data() + digits.size() || partition < 0) {
    return std::nullopt;
  }
  const std::string_view topic = name.substr(0, dash);
  if (!is_valid_topic_name(topic)) return std::nullopt;
  return std::pair(std::string(topic), partition);
}

}  // namespace sluice::segment
