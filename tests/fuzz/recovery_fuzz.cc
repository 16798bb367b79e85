// libFuzzer target: recovery's scan of a damaged .log file. Every input is a file that
// recovery must describe without crashing: the valid prefix, the first bad batch, and index
// bytes it would write for that prefix that it then also accepts.
//
// The first input byte picks the segment's base offset and how the rest becomes the file: as
// it is; with each batch's length and checksums fixed up; or as the description of a run of
// well-formed batches (record counts, values, timestamps, and base offsets that follow on or
// do not), optionally cut short. The last two reach the rules behind the checksums: offsets
// that must follow on, timestamps, the index entries.
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/check.h"
#include "common/file.h"
#include "recovery/segment_scan.h"
#include "segment/batch.h"
#include "segment/format.h"
#include "tests/fuzz/seal.h"

namespace {

using namespace sluice;
using namespace sluice::segment;

// Seals each batch in turn: its length clamped to what is left, then both checksums.
void fix_up(std::vector<std::byte>& bytes) {
  size_t pos = 0;
  while (bytes.size() - pos >= kBatchHeaderSize) {
    uint32_t length = load_le<uint32_t>(bytes.data() + pos + kBatchLengthPos);
    const size_t room = bytes.size() - pos - kLogOverhead;
    if (length > room || length < kBatchHeaderSize - kLogOverhead) {
      length = static_cast<uint32_t>(room);
    }
    const size_t end = kLogOverhead + length;
    fuzz::seal_batch(std::span(bytes).subspan(pos, end));
    pos += end;
  }
}

// Batches built from the input: per batch a record count, an offset twist and a timestamp
// byte, then per record a value length and value.
std::vector<std::byte> build_batches(const uint8_t* p, const uint8_t* end, Offset base) {
  std::vector<std::byte> out;
  BatchBuilder builder;
  Offset next = base;
  while (end - p >= 3) {
    const int count = p[0] % 8 + 1;
    const uint8_t twist = p[1];
    const uint8_t time = p[2];
    p += 3;
    builder.reset(time & 1 ? TimestampType::log_append_time : TimestampType::create_time);
    for (int i = 0; i < count && p < end; ++i) {
      const size_t wanted = *p++ % 64;
      const size_t length = std::min(wanted, static_cast<size_t>(end - p));
      const std::string_view value(reinterpret_cast<const char*>(p), length);
      p += length;
      const int64_t timestamp = time == 255 ? -1 : int64_t{time} * 1000 + i;
      builder.add({std::nullopt, value, {}, timestamp});
    }
    if (builder.record_count() == 0) break;
    auto batch = builder.finish();
    Offset at = next;
    switch (twist % 8) {
      case 0:
        at = Offset{wrapping_add(next.value, 1)};
        break;  // a gap
      case 1:
        at = Offset{wrapping_add(next.value, -1)};
        break;  // an overlap
      case 2:
        at = Offset{static_cast<int64_t>(twist) << 40};
        break;  // far away
      default:
        break;
    }
    stamp_batch(batch, at, 0);
    out.insert(out.end(), batch.begin(), batch.end());
    next = Offset{wrapping_add(at.value, builder.record_count())};
  }
  return out;
}

// A file of `bytes` with no name: unlinked as soon as it is made, and reached through
// /proc/self/fd, so that not even a crash leaves it behind.
class ScratchFile {
 public:
  explicit ScratchFile(std::span<const std::byte> bytes) {
    std::string pattern = (std::filesystem::temp_directory_path() / "sluice-fuzz-XXXXXX").string();
    file_ = File(::mkstemp(pattern.data()));
    SLUICE_CHECK(file_.fd() >= 0, "cannot make a scratch file");
    ::unlink(pattern.c_str());
    SLUICE_CHECK(file_.pwrite_all(bytes, 0).has_value(), "cannot write the scratch file");
    path_ = "/proc/self/fd/" + std::to_string(file_.fd());
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  File file_;
  std::filesystem::path path_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  constexpr int64_t kBases[] = {0, 1000, INT64_MAX - 100, INT64_MAX};
  const Offset base{kBases[(data[0] >> 2) % 4]};
  std::vector<std::byte> bytes;
  switch (data[0] % 4) {
    case 0:
    case 1:
      bytes.resize(size - 1);
      if (!bytes.empty()) std::memcpy(bytes.data(), data + 1, bytes.size());
      if (data[0] % 4 == 1) fix_up(bytes);
      break;
    case 2:
      bytes = build_batches(data + 1, data + size, base);
      break;
    default:  // built, then cut: a torn last write
      bytes = build_batches(data + 1, data + size, base);
      bytes.resize(bytes.size() - std::min<size_t>(bytes.size(), data[0] >> 4));
      break;
  }

  const ScratchFile file(bytes);
  recovery::RecoveryOptions options;
  options.index_max_bytes = 4096;
  options.index_interval_bytes = 128;
  auto scan = recovery::scan_segment(file.path(), base, options);
  SLUICE_CHECK(scan.has_value(), "a scan fails only on I/O errors");
  SLUICE_CHECK(scan->file_bytes == bytes.size(), "the scan sees the whole file");
  SLUICE_CHECK(scan->valid_bytes <= scan->file_bytes, "the valid prefix lies in the file");
  SLUICE_CHECK(scan->clean() == (scan->valid_bytes == scan->file_bytes),
               "a scan is clean exactly when every byte is valid");
  if (!scan->clean()) SLUICE_CHECK(!scan->describe_error().empty(), "damage is described");
  for (bool sealed : {false, true}) {
    const recovery::ExistingIndexes rebuilt{recovery::offset_index_bytes(*scan, options, sealed),
                                            recovery::time_index_bytes(*scan, options, sealed)};
    auto again = recovery::scan_segment(file.path(), base, options, rebuilt);
    SLUICE_CHECK(again.has_value(), "a scan fails only on I/O errors");
    SLUICE_CHECK(again->offset_index.problem.empty(), "recovery accepts the .index it writes: {}",
                 again->offset_index.problem);
    SLUICE_CHECK(again->time_index.problem.empty(), "recovery accepts the .timeindex it writes: {}",
                 again->time_index.problem);
  }
  return 0;
}
