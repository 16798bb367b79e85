#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace sluice::recovery {

// One leadership of a partition: from `start_offset` on, its batches were written by the
// leader of `epoch`.
struct EpochEntry {
  int32_t epoch = 0;
  int64_t start_offset = 0;
  bool operator==(const EpochEntry&) const = default;
};

// <partition dir>/leader-epoch-checkpoint in Kafka's text format: a version line "0", a count
// line, then "<epoch> <start offset>" lines with both strictly increasing. parse returns
// Errc::bad_checkpoint for anything else.
std::string format_leader_epochs(std::span<const EpochEntry> entries);
[[nodiscard]] Result<std::vector<EpochEntry>> parse_leader_epochs(std::string_view text);

// A partition's leader epoch history (Kafka's LeaderEpochFileCache): which epoch wrote which
// offsets, so that a follower whose log diverged from its leader's can be told where to cut
// (KIP-101, KIP-279). etcd holds the current epoch; this file is the history.
//
// Durability: every change is written to the file (temporary file, fsync, rename, directory
// fsync) before the call returns. Threading: thread-safe (one mutex).
class LeaderEpochs {
 public:
  // Reads the file in `dir`; a missing file is an empty history.
  [[nodiscard]] static Result<LeaderEpochs> load(const std::filesystem::path& dir);
  LeaderEpochs(LeaderEpochs&& other) noexcept;

  // Records that `epoch` starts at `start_offset`. Nothing changes when the latest entry is
  // already that epoch; entries of a higher or equal epoch, or that start at or after
  // `start_offset`, are dropped first (they were never confirmed: a newer leader overrode them).
  [[nodiscard]] Result<void> assign(int32_t epoch, int64_t start_offset);
  // Drops the entries that start at or after `end_offset` (the log was cut there).
  [[nodiscard]] Result<void> truncate_from_end(int64_t end_offset);
  // Drops the entries wholly before `start_offset` (retention removed their batches), keeping
  // the one that covers it, moved to start there.
  [[nodiscard]] Result<void> truncate_from_start(int64_t start_offset);

  // Kafka's endOffsetForEpoch: for a follower whose last epoch is `epoch`, the largest epoch
  // this history holds that is <= `epoch`, and the offset where the epoch after it starts
  // (`log_end` when that is the latest). nullopt when `epoch` is newer than every entry, or
  // the history is empty: nothing to compare against.
  std::optional<std::pair<int32_t, int64_t>> end_offset_for(int32_t epoch, int64_t log_end) const;
  // Where a follower must cut its log (ending at `log_end`) once its leader answered its last
  // epoch with `leader_epoch` ending at `leader_end` (Kafka's truncation on an
  // OffsetsForLeaderEpoch answer, KIP-279): at the leader's end, or earlier where this
  // history moved past `leader_epoch`, since what it wrote in a later epoch than the leader
  // knows of is not the leader's. With `leader_epoch` -1 (the leader knew no epoch to
  // compare), at the leader's end.
  int64_t divergence_point(int32_t leader_epoch, int64_t leader_end, int64_t log_end) const;
  std::optional<int32_t> latest_epoch() const;
  std::vector<EpochEntry> entries() const;
  const std::filesystem::path& file() const { return file_; }

 private:
  LeaderEpochs(std::filesystem::path file, std::vector<EpochEntry> entries)
      : file_(std::move(file)), entries_(std::move(entries)) {}
  [[nodiscard]] Result<void> persist(std::vector<EpochEntry> next);

  std::filesystem::path file_;
  mutable std::mutex mu_;
  std::vector<EpochEntry> entries_;  // guarded by mu_
};

}  // namespace sluice::recovery
