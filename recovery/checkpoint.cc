#include "recovery/checkpoint.h"

#include <fmt/format.h>

#include <charconv>
#include <sstream>

#include "common/file.h"
#include "recovery/errors.h"
#include "segment/layout.h"

namespace sluice::recovery {
namespace {

namespace fs = std::filesystem;

template <class T>
bool parse_number(std::string_view s, T& out) {
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && ptr == s.data() + s.size();
}

// Parses "<topic> <partition> <offset>" into points; false if malformed.
bool parse_entry(std::string_view line, RecoveryPoints& points) {
  const auto last = line.rfind(' ');
  if (last == std::string_view::npos) return false;
  const auto mid = line.rfind(' ', last - 1);
  if (mid == std::string_view::npos || mid == 0 || last == 0) return false;
  int32_t partition = 0;
  int64_t offset = 0;
  if (!parse_number(line.substr(mid + 1, last - mid - 1), partition) ||
      !parse_number(line.substr(last + 1), offset) || partition < 0 || offset < 0) {
    return false;
  }
  points[segment::partition_dir_name(line.substr(0, mid), partition)] = Offset{offset};
  return true;
}

}  // namespace

Result<void> write_recovery_checkpoint(const fs::path& log_dir, const RecoveryPoints& points) {
  std::string text = fmt::format("0\n{}\n", points.size());
  for (const auto& [key, offset] : points) {
    auto parsed = segment::parse_partition_dir_name(key);
    if (!parsed) return Errc::bad_partition_dir;
    text += fmt::format("{} {} {}\n", parsed->first, parsed->second, offset.value);
  }
  return write_file_atomically(log_dir / segment::kRecoveryCheckpointFile, text);
}

Result<RecoveryPoints> read_recovery_checkpoint(const fs::path& log_dir) {
  auto f = File::open(log_dir / segment::kRecoveryCheckpointFile, O_RDONLY);
  if (!f && f.error() == std::errc::no_such_file_or_directory) return RecoveryPoints{};
  if (!f) return f.error();
  auto size = f->size();
  if (!size) return size.error();
  std::string text(*size, '\0');
  auto n = f->pread_full({reinterpret_cast<std::byte*>(text.data()), text.size()}, 0);
  if (!n) return n.error();
  text.resize(*n);
  std::istringstream in(text);
  std::string version;
  std::string count_line;
  size_t count = 0;
  if (!std::getline(in, version) || version != "0" || !std::getline(in, count_line) ||
      !parse_number(std::string_view(count_line), count)) {
    return Errc::bad_checkpoint;
  }
  RecoveryPoints points;
  std::string line;
  for (size_t i = 0; i < count; ++i) {
    if (!std::getline(in, line) || !parse_entry(line, points)) return Errc::bad_checkpoint;
  }
  if (std::getline(in, line) && !line.empty()) return Errc::bad_checkpoint;
  return points;
}

Result<void> mark_clean_shutdown(const fs::path& log_dir) {
  auto f = File::open(log_dir / segment::kCleanShutdownFile, O_WRONLY | O_CREAT | O_TRUNC);
  if (!f) return f.error();
  if (auto r = f->sync(); !r) return r;
  return fsync_dir(log_dir);
}

Result<bool> consume_clean_shutdown(const fs::path& log_dir) {
  std::error_code ec;
  const bool existed = fs::remove(log_dir / segment::kCleanShutdownFile, ec);
  // Result<bool> is constructible from an error_code both ways: say which.
  if (ec) return Result<bool>(boost::system::in_place_error, ec);
  if (existed) {
    if (auto r = fsync_dir(log_dir); !r) {
      return Result<bool>(boost::system::in_place_error, r.error());
    }
  }
  return existed;
}

}  // namespace sluice::recovery
