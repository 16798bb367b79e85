#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/types.h"

namespace sluice::recovery {

// Recovery points keyed by "<topic>-<partition>": every offset below is known to be flushed.
using RecoveryPoints = std::map<std::string, Offset>;

// Writes <log_dir>/recovery-point-offset-checkpoint atomically (temporary file, fsync, rename,
// fsync of log_dir) in Kafka's text format: a version line "0", a count line, then one
// "<topic> <partition> <offset>" line per partition. Keys must be "<topic>-<partition>".
[[nodiscard]] Result<void> write_recovery_checkpoint(const std::filesystem::path& log_dir,
                                                     const RecoveryPoints& points);

// Reads it back. A missing file is an empty map; a malformed one is Errc::bad_checkpoint.
[[nodiscard]] Result<RecoveryPoints> read_recovery_checkpoint(const std::filesystem::path& log_dir);

// Creates <log_dir>/.clean_shutdown and fsyncs log_dir: the last thing a clean stop does.
[[nodiscard]] Result<void> mark_clean_shutdown(const std::filesystem::path& log_dir);

// Reports whether .clean_shutdown was there and removes it (fsyncing log_dir) so that a crash
// during the recovery that follows is never mistaken for a clean state. Call before recovery.
[[nodiscard]] Result<bool> consume_clean_shutdown(const std::filesystem::path& log_dir);

}  // namespace sluice::recovery
