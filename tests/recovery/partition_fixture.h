#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "config/config.h"
#include "recovery/segment_scan.h"
#include "segment/segment.h"

namespace sluice::recovery::testing {

namespace fs = std::filesystem;

inline constexpr int64_t kNow = 1'700'000'000'000;

// Small indexes and intervals, so that a few KiB of log give many index entries.
inline segment::SegmentOptions segment_options() { return {600, 256}; }
inline RecoveryOptions recovery_options() { return {600, 256}; }
inline config::TopicConfig topic_config() {
  config::TopicConfig c;
  c.segment_index_bytes = 600;
  c.index_interval_bytes = 256;
  c.max_message_bytes = 1 << 20;
  return c;
}

// Where one batch went when PartitionWriter wrote it.
struct WrittenBatch {
  Offset base;
  Offset next;
  size_t segment = 0;  // index into PartitionWriter::bases()
  uint64_t position = 0;
  uint64_t size = 0;
};

// Writes a partition through the real segment::Segment, rolling at `segment_bytes` like the
// broker (seal, then create the next segment). Deterministic: batch i holds `records` records of
// value size 20 + i % 7 with timestamps kNow + 10 * i + j (decreasing in every fifth batch, so
// that some batches do not raise the max timestamp).
class PartitionWriter {
 public:
  PartitionWriter(fs::path dir, uint64_t segment_bytes, Offset first = Offset{0},
                  segment::SegmentOptions options = segment_options())
      : dir_(std::move(dir)), segment_bytes_(segment_bytes), next_(first), options_(options) {
    fs::create_directories(dir_);
  }

  void append_batches(int count, int records = 3) {
    for (int i = 0; i < count; ++i) append_one(records);
  }

  void append_one(int records) {
    const int n = static_cast<int>(batches_.size());
    builder_.reset();
    const std::string value(static_cast<size_t>(20 + n % 7), static_cast<char>('a' + n % 26));
    const int64_t ts = n % 5 == 4 ? kNow : kNow + 10 * n;
    for (int j = 0; j < records; ++j) builder_.add({"key", value, {}, ts + j});
    auto batch = builder_.finish();
    segment::stamp_batch(batch, next_, epoch_);
    auto h = segment::parse_header(batch).value();
    if (!active_ || active_->needs_roll(batch.size(), h.last_offset(),
                                        static_cast<int64_t>(segment_bytes_), INT64_MAX, kNow)) {
      if (active_) {
        EXPECT_TRUE(active_->seal());
      }
      active_ = segment::Segment::create(dir_, next_, options_, kNow).value();
      bases_.push_back(next_);
    }
    batches_.push_back(
        {h.base_offset, h.next_offset(), bases_.size() - 1, active_->size_bytes(), batch.size()});
    EXPECT_TRUE(active_->append(batch, h));
    next_ = h.next_offset();
  }

  // The leader epoch stamped in the batches from now on (0 at first, as a standalone broker).
  void set_epoch(int32_t epoch) { epoch_ = epoch; }

  // Closes the active segment as a crash would leave it: indexes preallocated, not sealed.
  void close() { active_.reset(); }

  const std::vector<WrittenBatch>& batches() const { return batches_; }
  const std::vector<Offset>& bases() const { return bases_; }
  fs::path file(size_t segment, std::string_view suffix) const {
    return dir_ / segment::segment_file_name(bases_[segment], suffix);
  }
  Offset next_offset() const { return next_; }

 private:
  fs::path dir_;
  uint64_t segment_bytes_;
  Offset next_;
  int32_t epoch_ = 0;
  segment::SegmentOptions options_;
  segment::BatchBuilder builder_;
  std::shared_ptr<segment::Segment> active_;
  std::vector<Offset> bases_;
  std::vector<WrittenBatch> batches_;
};

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_file(const fs::path& p, std::string_view bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Every regular file under root (relative path -> bytes).
inline std::map<std::string, std::string> snapshot(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.is_regular_file()) out[fs::relative(e.path(), root).string()] = read_file(e.path());
  }
  return out;
}

// The names of the files that differ between two snapshots, for readable failures.
inline std::string differing(const std::map<std::string, std::string>& a,
                             const std::map<std::string, std::string>& b) {
  std::string out;
  for (const auto& [name, bytes] : a) {
    auto it = b.find(name);
    if (it == b.end())
      out += " -" + name;
    else if (it->second != bytes)
      out += " ~" + name;
  }
  for (const auto& [name, bytes] : b) {
    if (!a.contains(name)) out += " +" + name;
  }
  return out;
}

// Every entry under root (relative path -> mtime in ns), directories included.
inline std::map<std::string, int64_t> mtimes(const fs::path& root) {
  std::map<std::string, int64_t> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    struct stat st {};
    ::stat(e.path().c_str(), &st);
    out[fs::relative(e.path(), root).string()] =
        st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec;
  }
  return out;
}

// Quarantined copies of a partition: segment file name -> bytes (suffixes stripped).
inline std::map<std::string, std::string> quarantined(const fs::path& qdir) {
  std::map<std::string, std::string> out;
  if (!fs::exists(qdir)) return out;
  for (const auto& e : fs::directory_iterator(qdir)) {
    const std::string name = e.path().filename().string();
    if (name.starts_with("cut.")) continue;
    out[name.substr(0, 24)] += read_file(e.path());
  }
  return out;
}

}  // namespace sluice::recovery::testing
