#include "recovery/leader_epochs.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

#include "common/file.h"
#include "recovery/errors.h"
#include "segment/layout.h"

namespace sluice::recovery {
namespace {

template <class T>
bool parse_number(std::string_view s, T& out) {
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc{} && ptr == s.data() + s.size();
}

}  // namespace

std::string format_leader_epochs(std::span<const EpochEntry> entries) {
  std::string text = fmt::format("0\n{}\n", entries.size());
  for (const auto& e : entries) text += fmt::format("{} {}\n", e.epoch, e.start_offset);
  return text;
}

Result<std::vector<EpochEntry>> parse_leader_epochs(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    if (nl == std::string_view::npos) return Errc::bad_checkpoint;  // cut short
    lines.push_back(text.substr(0, nl));
    text.remove_prefix(nl + 1);
  }
  size_t count = 0;
  if (lines.size() < 2 || lines[0] != "0" || !parse_number(lines[1], count) ||
      lines.size() != count + 2) {
    return Errc::bad_checkpoint;
  }
  std::vector<EpochEntry> entries;
  for (size_t i = 2; i < lines.size(); ++i) {
    const auto line = lines[i];
    const auto space = line.find(' ');
    EpochEntry e;
    if (space == std::string_view::npos || !parse_number(line.substr(0, space), e.epoch) ||
        !parse_number(line.substr(space + 1), e.start_offset) || e.epoch < 0 ||
        e.start_offset < 0) {
      return Errc::bad_checkpoint;
    }
    if (!entries.empty() &&
        (e.epoch <= entries.back().epoch || e.start_offset <= entries.back().start_offset)) {
      return Errc::bad_checkpoint;
    }
    entries.push_back(e);
  }
  return entries;
}

Result<LeaderEpochs> LeaderEpochs::load(const std::filesystem::path& dir) {
  auto file = dir / segment::kLeaderEpochFile;
  std::ifstream in(file);
  if (!in) {
    std::error_code ec;
    if (std::filesystem::exists(file, ec)) return errno_code(EACCES);
    return LeaderEpochs(std::move(file), {});
  }
  std::stringstream text;
  text << in.rdbuf();
  auto entries = parse_leader_epochs(text.str());
  if (!entries) return entries.error();
  return LeaderEpochs(std::move(file), std::move(*entries));
}

LeaderEpochs::LeaderEpochs(LeaderEpochs&& other) noexcept : file_(std::move(other.file_)) {
  std::lock_guard lock(other.mu_);
  entries_ = std::move(other.entries_);
}

Result<void> LeaderEpochs::persist(std::vector<EpochEntry> next) {
  if (next == entries_) return {};
  if (auto r = write_file_atomically(file_, format_leader_epochs(next)); !r) return r;
  entries_ = std::move(next);
  return {};
}

Result<void> LeaderEpochs::assign(int32_t epoch, int64_t start_offset) {
  std::lock_guard lock(mu_);
  if (!entries_.empty() && entries_.back().epoch == epoch) return {};
  std::vector<EpochEntry> next;
  for (const auto& e : entries_) {
    if (e.epoch < epoch && e.start_offset < start_offset) next.push_back(e);
  }
  next.push_back({epoch, start_offset});
  return persist(std::move(next));
}

Result<void> LeaderEpochs::truncate_from_end(int64_t end_offset) {
  std::lock_guard lock(mu_);
  std::vector<EpochEntry> next;
  for (const auto& e : entries_) {
    if (e.start_offset < end_offset) next.push_back(e);
  }
  return persist(std::move(next));
}

Result<void> LeaderEpochs::truncate_from_start(int64_t start_offset) {
  std::lock_guard lock(mu_);
  std::vector<EpochEntry> next;
  for (size_t i = 0; i < entries_.size(); ++i) {
    const bool next_starts_later =
        i + 1 == entries_.size() || entries_[i + 1].start_offset > start_offset;
    if (entries_[i].start_offset >= start_offset) {
      next.push_back(entries_[i]);
    } else if (next_starts_later) {
      next.push_back({entries_[i].epoch, start_offset});  // covers the new start
    }
  }
  return persist(std::move(next));
}

std::optional<std::pair<int32_t, int64_t>> LeaderEpochs::end_offset_for(int32_t epoch,
                                                                        int64_t log_end) const {
  std::lock_guard lock(mu_);
  if (entries_.empty()) return std::nullopt;
  if (entries_.back().epoch == epoch) return std::pair{epoch, log_end};
  // The first entry of a higher epoch: where the requested epoch (or the last one before it)
  // ended on this replica.
  size_t higher = 0;
  while (higher < entries_.size() && entries_[higher].epoch <= epoch) ++higher;
  if (higher == entries_.size()) return std::nullopt;  // newer than anything known here
  if (higher == 0) return std::pair{epoch, entries_[0].start_offset};
  return std::pair{entries_[higher - 1].epoch, entries_[higher].start_offset};
}

int64_t LeaderEpochs::divergence_point(int32_t leader_epoch, int64_t leader_end,
                                       int64_t log_end) const {
  int64_t cut = std::min(leader_end, log_end);
  if (leader_epoch < 0) return cut;
  if (auto own = end_offset_for(leader_epoch, log_end)) cut = std::min(cut, own->second);
  return cut;
}

std::optional<int32_t> LeaderEpochs::latest_epoch() const {
  std::lock_guard lock(mu_);
  if (entries_.empty()) return std::nullopt;
  return entries_.back().epoch;
}

std::vector<EpochEntry> LeaderEpochs::entries() const {
  std::lock_guard lock(mu_);
  return entries_;
}

}  // namespace sluice::recovery
