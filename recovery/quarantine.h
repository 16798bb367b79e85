#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/result.h"

namespace sluice::recovery {

// One cut: the bytes of `first_file` from `position` on, and every file in `later_files`
// whole, are about to be removed from a partition.
struct QuarantineCut {
  std::string reason;
  std::filesystem::path first_file;
  uint64_t position = 0;
  std::vector<std::filesystem::path> later_files;
};

// Copies a cut's bytes into `dir` (created if missing) before anything is removed. Each copy
// keeps its file name plus a suffix made of the UTC time (and a counter if that name is
// taken), so repeated cuts never overwrite each other; a JSON note "cut.<suffix>.json" says
// why, which file, where, how many bytes and when. The copies, the note and the directory are
// fsynced before this returns. Returns the bytes copied. Not thread-safe for one `dir`.
[[nodiscard]] Result<uint64_t> quarantine(const std::filesystem::path& dir,
                                          const QuarantineCut& cut, int64_t now_ms);

}  // namespace sluice::recovery
