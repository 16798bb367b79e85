#include "recovery/quarantine.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <chrono>
#include <vector>

#include "common/file.h"
#include "common/json_string.h"
#include "recovery/report.h"

namespace sluice::recovery {
namespace {

namespace fs = std::filesystem;

[[nodiscard]] Result<void> make_dirs(const fs::path& dir) {
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return {};
  if (auto r = make_dirs(dir.parent_path()); !r) return r;
  if (!fs::create_directory(dir, ec) && ec) return ec;
  return fsync_dir(dir.parent_path());
}

// Copies [from, end) of src into a new file dst; returns the bytes copied.
[[nodiscard]] Result<uint64_t> copy_tail(const fs::path& src, uint64_t from, const fs::path& dst) {
  auto in = File::open(src, O_RDONLY);
  if (!in) return in.error();
  auto out = File::open(dst, O_WRONLY | O_CREAT | O_EXCL);
  if (!out) return out.error();
  std::vector<std::byte> buf(4 << 20);
  uint64_t done = 0;
  while (true) {
    auto n = in->pread_full(buf, from + done);
    if (!n) return n.error();
    if (*n == 0) break;
    if (auto r = out->pwrite_all(std::span(buf).first(*n), done); !r) return r.error();
    done += *n;
  }
  if (auto r = out->sync(); !r) return r.error();
  return done;
}

std::string time_suffix(int64_t now_ms) {
  const auto tp =
      std::chrono::sys_time<std::chrono::milliseconds>(std::chrono::milliseconds(now_ms));
  return fmt::format("{:%Y%m%dT%H%M%S}Z", tp);
}

// A suffix no file of this cut has in `dir` yet.
std::string free_suffix(const fs::path& dir, const QuarantineCut& cut, int64_t now_ms) {
  const std::string base = time_suffix(now_ms);
  for (int n = 0;; ++n) {
    std::string suffix = n == 0 ? base : fmt::format("{}-{}", base, n);
    std::error_code ec;
    bool taken = fs::exists(dir / fmt::format("cut.{}.json", suffix), ec) ||
                 fs::exists(dir / (cut.first_file.filename().string() + "." + suffix), ec);
    for (const auto& f : cut.later_files) {
      taken = taken || fs::exists(dir / (f.filename().string() + "." + suffix), ec);
    }
    if (!taken) return suffix;
  }
}

}  // namespace

Result<uint64_t> quarantine(const fs::path& dir, const QuarantineCut& cut, int64_t now_ms) {
  if (auto r = make_dirs(dir); !r) return r.error();
  const std::string suffix = free_suffix(dir, cut, now_ms);
  std::string files;
  uint64_t total = 0;
  auto copy = [&](const fs::path& src, uint64_t from) -> Result<void> {
    const fs::path dst = dir / (src.filename().string() + "." + suffix);
    auto n = copy_tail(src, from, dst);
    if (!n) return n.error();
    if (!files.empty()) files += ", ";
    files += fmt::format("{{\"source\": {}, \"position\": {}, \"bytes\": {}, \"copy\": {}}}",
                         json_quote(src.string()), from, *n, json_quote(dst.filename().string()));
    total += *n;
    return {};
  };
  if (auto r = copy(cut.first_file, cut.position); !r) return r.error();
  for (const auto& f : cut.later_files) {
    if (auto r = copy(f, 0); !r) return r.error();
  }
  const std::string note = fmt::format(
      "{{\"reason\": {}, \"file\": {}, \"position\": {}, \"bytes\": {}, \"time_ms\": {}, "
      "\"time\": {}, \"files\": [{}]}}\n",
      json_quote(cut.reason), json_quote(cut.first_file.string()), cut.position, total, now_ms,
      json_quote(time_suffix(now_ms)), files);
  if (auto r = write_file_atomically(dir / fmt::format("cut.{}.json", suffix), note); !r) {
    return r.error();
  }
  return total;
}

}  // namespace sluice::recovery
