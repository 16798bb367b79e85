#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/types.h"
#include "index/format.h"
#include "segment/batch.h"

namespace sluice::recovery {

// What `sluice dump` shows of one file, like Kafka's DumpLogSegments: a segment's batches (and
// their records), or an index's entries, each up to the first defect.
enum class DumpKind { log, offset_index, time_index };

// The kind of a .log, .index or .timeindex file; nullopt for any other name.
std::optional<DumpKind> dump_kind(const std::filesystem::path& file);

struct DumpedRecord {
  Offset offset;
  int64_t timestamp_ms = 0;
  std::optional<std::string> key;    // nullopt is a null key
  std::optional<std::string> value;  // nullopt is a null value
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
};

struct DumpedBatch {
  uint64_t position = 0;  // of its first byte in the segment
  segment::BatchHeader header;
  std::vector<DumpedRecord> records;  // only when asked for
};

struct FileDump {
  DumpKind kind = DumpKind::log;
  std::vector<DumpedBatch> batches;         // DumpKind::log
  std::vector<index::OffsetEntry> offsets;  // DumpKind::offset_index
  std::vector<index::TimeEntry> times;      // DumpKind::time_index
  // Where reading stopped, if the file is damaged: everything before it is above.
  struct Defect {
    uint64_t position = 0;
    std::string what;
  };
  std::optional<Defect> defect;
};

// Reads `file` as `kind`. An index shows the entries it holds: the first one and every one that
// continues it (the zeros of a preallocated file are free space, as index::OffsetIndex reads
// them). A file that cannot be read is an error; a damaged one is a dump with a defect.
[[nodiscard]] Result<FileDump> dump_file(const std::filesystem::path& file, DumpKind kind,
                                         bool with_records);

}  // namespace sluice::recovery
