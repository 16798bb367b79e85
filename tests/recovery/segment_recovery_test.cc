#include "recovery/segment_recovery.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <random>

#include "common/endian.h"
#include "index/format.h"
#include "recovery/errors.h"
#include "segment/errors.h"
#include "tests/recovery/partition_fixture.h"
#include "tests/temp_dir.h"

namespace sluice::recovery {
namespace {

using testing::PartitionWriter;
using testing::read_file;
using testing::snapshot;
using testing::write_file;
namespace fs = std::filesystem;

class SegmentRecoveryTest : public ::testing::Test {
 protected:
  fs::path log_dir() const { return tmp_.path() / "logs"; }
  fs::path part() const { return log_dir() / "orders-3"; }
  fs::path qdir() const { return log_dir() / segment::kQuarantineDir / "orders-3"; }

  // Writes `batches` batches into orders-3 (and a copy of the untouched files in `pristine_`).
  PartitionWriter write(int batches, uint64_t segment_bytes = 4096) {
    PartitionWriter w(part(), segment_bytes, Offset{1000});
    w.append_batches(batches);
    w.close();
    pristine_ = snapshot(part());
    return w;
  }

  Result<PartitionReport> recover(bool read_only = false, RepairFn repair = {}) {
    SegmentRecoverySettings s;
    s.options = testing::recovery_options();
    s.read_only = read_only;
    s.quarantine_dir = qdir();
    s.repair = std::move(repair);
    return SegmentRecovery(*parse_partition_dir(part()), s).run();
  }

  void reset_dir() {
    fs::remove_all(log_dir());
    fs::create_directories(part());
    for (const auto& [name, bytes] : pristine_) write_file(part() / name, bytes);
  }

  sluice::testing::TempDir tmp_;
  std::map<std::string, std::string> pristine_;
};

TEST(PartitionDirTest, NameSplitsAtTheLastDash) {
  auto d = parse_partition_dir("/x/my-topic.v2-17");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->topic, "my-topic.v2");
  EXPECT_EQ(d->partition, 17);
  EXPECT_EQ(d->name(), "my-topic.v2-17");
  EXPECT_EQ(parse_partition_dir("/x/t--1")->topic, "t-");
  for (const char* bad : {"quarantine", "topic-", "-3", "topic-x", "topic-3.deleted", "to pic-1",
                          ".-1", "..-1", "t-+1"}) {
    EXPECT_FALSE(parse_partition_dir(fs::path("/x") / bad)) << bad;
  }
}

TEST_F(SegmentRecoveryTest, RecoveringWhatTheWriterLeftChangesNothing) {
  auto w = write(120);
  ASSERT_GE(w.bases().size(), 4u);
  auto r = recover();
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(testing::differing(snapshot(part()), pristine_), "");
  EXPECT_EQ(r->indexes_rebuilt, 0u);
  EXPECT_TRUE(r->clean()) << r->problems.front();
  EXPECT_EQ(r->segments, w.bases().size());
  EXPECT_EQ(r->batches, 120u);
  EXPECT_EQ(r->records, 360u);
  EXPECT_EQ(r->next_offset, w.next_offset());
  EXPECT_FALSE(fs::exists(log_dir() / segment::kQuarantineDir));
}

TEST_F(SegmentRecoveryTest, TornFinalBatchIsQuarantinedAndCut) {
  auto w = write(60);
  const auto& batches = w.batches();
  const size_t last_seg = w.bases().size() - 1;
  const auto& b1 = batches[batches.size() - 2];
  ASSERT_EQ(b1.segment, last_seg);
  ASSERT_GT(b1.position, 0u);
  const std::string log_name = segment::segment_file_name(w.bases()[last_seg], ".log");
  const std::string full_log = pristine_[log_name];
  // The writer's files for each possible kept prefix (all batches but the last 0, 1 or 2).
  std::map<size_t, std::map<std::string, std::string>> reference;
  for (size_t drop = 0; drop <= 2; ++drop) {
    sluice::testing::TempDir ref;
    PartitionWriter rw(ref.path() / "orders-3", 4096, Offset{1000});
    rw.append_batches(static_cast<int>(batches.size() - drop));
    rw.close();
    reference[batches.size() - drop] = snapshot(ref.path() / "orders-3");
  }
  for (uint64_t cut = b1.position; cut < full_log.size(); ++cut) {
    SCOPED_TRACE(cut);
    reset_dir();
    fs::resize_file(part() / log_name, cut);
    auto r = recover();
    ASSERT_TRUE(r) << r.error().message();
    size_t kept = 0;
    for (const auto& b : batches) kept += b.segment < last_seg || b.position + b.size <= cut;
    const uint64_t good_end = kept < batches.size() ? batches[kept].position : full_log.size();
    ASSERT_EQ(fs::file_size(part() / log_name), good_end);
    EXPECT_EQ(testing::differing(snapshot(part()), reference[kept]), "");
    EXPECT_EQ(r->next_offset, batches[kept - 1].next);
    EXPECT_EQ(r->bytes_quarantined, cut - good_end);
    if (cut > good_end) {
      EXPECT_EQ(testing::quarantined(qdir())[log_name], full_log.substr(good_end, cut - good_end));
      EXPECT_TRUE(r->truncation.has_value());
    } else {
      EXPECT_FALSE(r->truncation.has_value());
    }
    const auto before = snapshot(log_dir());
    auto again = recover();
    ASSERT_TRUE(again);
    EXPECT_EQ(again->indexes_rebuilt, 0u);
    EXPECT_EQ(testing::differing(snapshot(log_dir()), before), "");
    auto seg = segment::Segment::open(part(), w.bases()[last_seg], testing::segment_options(), true,
                                      testing::kNow);
    ASSERT_TRUE(seg) << seg.error().message();
    EXPECT_EQ((*seg)->next_offset(), batches[kept - 1].next);
    segment::BatchBuilder b;
    b.add({"k", "v", {}, testing::kNow});
    auto bytes = b.finish();
    segment::stamp_batch(bytes, (*seg)->next_offset(), 0);
    ASSERT_TRUE((*seg)->append(bytes, *segment::parse_header(bytes)));
    EXPECT_EQ(fs::file_size(part() / log_name), good_end + bytes.size());
  }
}

TEST_F(SegmentRecoveryTest, BitFlipInMiddleSegmentQuarantinesFromTheDamagedBatchOn) {
  auto w = write(150);
  ASSERT_GE(w.bases().size(), 5u);
  for (uint32_t seed = 1; seed <= 50; ++seed) {
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    std::mt19937 rng(seed);
    reset_dir();
    const size_t seg = 1 + rng() % (w.bases().size() - 2);
    std::vector<testing::WrittenBatch> in_seg;
    for (const auto& b : w.batches()) {
      if (b.segment == seg) in_seg.push_back(b);
    }
    const auto& victim = in_seg[rng() % in_seg.size()];
    const uint64_t pos = victim.position + rng() % victim.size;
    const auto log = w.file(seg, segment::kLogSuffix);
    std::string bytes = read_file(log);
    bytes[pos] = static_cast<char>(bytes[pos] ^ static_cast<char>(1 + rng() % 255));
    write_file(log, bytes);
    auto r = recover();
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(fs::file_size(log), victim.position);
    EXPECT_EQ(r->next_offset, victim.base);
    EXPECT_EQ(r->segments, seg + 1);
    auto q = testing::quarantined(qdir());
    std::map<std::string, std::string> expected;
    expected[log.filename().string()] = bytes.substr(victim.position);
    uint64_t total = bytes.size() - victim.position;
    for (size_t later = seg + 1; later < w.bases().size(); ++later) {
      const auto name = w.file(later, segment::kLogSuffix).filename().string();
      expected[name] = pristine_[name];
      total += pristine_[name].size();
      EXPECT_FALSE(fs::exists(w.file(later, segment::kLogSuffix)));
      EXPECT_FALSE(fs::exists(w.file(later, segment::kIndexSuffix)));
      EXPECT_FALSE(fs::exists(w.file(later, segment::kTimeIndexSuffix)));
    }
    EXPECT_EQ(testing::differing(q, expected), "");
    EXPECT_EQ(r->bytes_quarantined, total);
    for (size_t before = 0; before < seg; ++before) {
      for (auto suffix : {segment::kLogSuffix, segment::kIndexSuffix, segment::kTimeIndexSuffix}) {
        const auto name = w.file(before, suffix).filename().string();
        EXPECT_EQ(read_file(part() / name), pristine_[name]) << name;
      }
    }
  }
}

// With a replica's copy (here: the untouched files), a damaged batch in a sealed segment is
// replaced in place, the damaged bytes kept in quarantine, and nothing is cut; a copy that
// does not check out is refused and the log is cut as without one.
TEST_F(SegmentRecoveryTest, ADamagedSealedSegmentIsRepairedFromACopyInsteadOfCut) {
  auto w = write(150);
  ASSERT_GE(w.bases().size(), 4u);
  const size_t seg = 1;
  const auto log = w.file(seg, segment::kLogSuffix);
  std::string bytes = read_file(log);
  const size_t pos = bytes.size() / 2;
  bytes[pos] = static_cast<char>(bytes[pos] ^ 0x21);
  write_file(log, bytes);
  const std::string good = pristine_[log.filename().string()];
  std::vector<SegmentDamage> seen;
  auto from_copy = [&](const SegmentDamage& d) -> RepairOutcome {
    seen.push_back(d);
    const auto copy = std::as_bytes(std::span(good)).subspan(d.position);
    if (auto bad = check_replacement(d, copy)) return {std::nullopt, *bad};
    if (auto r = write_replacement(d, copy, "repaired from broker 7", 1); !r) {
      return {std::nullopt, r.error().message()};
    }
    return {7, {}};
  };
  auto r = recover(false, from_copy);
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].base, w.bases()[seg]);
  EXPECT_EQ(seen[0].end, w.bases()[seg + 1]);
  EXPECT_LE(seen[0].position, pos);
  EXPECT_FALSE(r->truncation);
  ASSERT_EQ(r->repairs.size(), 1u);
  EXPECT_NE(r->repairs[0].find("repaired from broker 7"), std::string::npos);
  EXPECT_EQ(snapshot(part()), pristine_);  // every file as written, indexes included
  auto q = testing::quarantined(qdir());
  ASSERT_EQ(q.count(log.filename().string()), 1u);
  EXPECT_EQ(q[log.filename().string()], bytes.substr(seen[0].position));

  // A copy of another size, or whose batches do not reach the next segment, is refused.
  reset_dir();
  write_file(log, bytes);
  auto short_copy = [&](const SegmentDamage& d) -> RepairOutcome {
    const auto copy = std::as_bytes(std::span(good)).subspan(d.position);
    EXPECT_TRUE(check_replacement(d, copy.first(copy.size() - 1)));
    std::string other(copy.size(), '\0');
    EXPECT_TRUE(check_replacement(d, std::as_bytes(std::span(other))));
    return {std::nullopt, "no good copy"};
  };
  r = recover(false, short_copy);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->truncation);
  EXPECT_TRUE(r->cut_sealed);
  EXPECT_TRUE(r->repairs.empty());
}

enum class Damage { remove, truncate, zero_fill, garble };

// Rebuilt under the settings they were written with, indexes come out as the writer's bytes:
// both apply segment::index_batch.
TEST_F(SegmentRecoveryTest, DamagedIndexesAreRebuiltByteIdentical) {
  auto w = write(90);
  const size_t n = w.bases().size();
  for (auto damage : {Damage::remove, Damage::truncate, Damage::zero_fill, Damage::garble}) {
    for (size_t seg : {size_t{0}, n - 1}) {
      for (auto suffix : {".index", ".timeindex"}) {
        SCOPED_TRACE(::testing::Message() << static_cast<int>(damage) << " " << seg << suffix);
        reset_dir();
        const auto path = w.file(seg, suffix);
        std::string bytes = read_file(path);
        std::mt19937 rng(static_cast<uint32_t>(bytes.size()));
        switch (damage) {
          case Damage::remove:
            fs::remove(path);
            break;
          case Damage::truncate:
            fs::resize_file(path, bytes.size() / 2 + 3);
            break;
          case Damage::zero_fill:
            write_file(path, std::string(bytes.size(), '\0'));
            break;
          case Damage::garble:
            for (auto& c : bytes) c = static_cast<char>(rng());
            write_file(path, bytes);
            break;
        }
        auto r = recover();
        ASSERT_TRUE(r) << r.error().message();
        EXPECT_EQ(r->indexes_rebuilt, 1u);
        EXPECT_FALSE(r->truncation);
        EXPECT_EQ(testing::differing(snapshot(part()), pristine_), "");
      }
    }
  }
}

TEST_F(SegmentRecoveryTest, WrongOrTooSparseIndexesAreReportedAndRebuilt) {
  auto w = write(90);
  ASSERT_GE(w.bases().size(), 3u);
  // Offset entries: u32 relative offset, u32 position; time entries: i64 timestamp, u32 offset.
  auto add_u32 = [](std::string& b, size_t at, uint32_t delta) {
    store_le<uint32_t>(b.data() + at, load_le<uint32_t>(b.data() + at) + delta);
  };
  auto swap_entries = [](std::string& b, size_t size, size_t i, size_t j) {
    std::swap_ranges(b.begin() + static_cast<long>(i * size),
                     b.begin() + static_cast<long>((i + 1) * size),
                     b.begin() + static_cast<long>(j * size));
  };
  const struct {
    const char* what;
    std::string_view suffix;
    std::string_view problem;
    std::function<void(std::string&)> damage;
  } cases[] = {
      {"entry mid-batch", segment::kIndexSuffix, "not at a batch's start",
       [&](std::string& b) { add_u32(b, 12, 1); }},
      {"entry with another offset", segment::kIndexSuffix, "names another offset",
       [&](std::string& b) { add_u32(b, 8, 1); }},
      {"decreasing entries", segment::kIndexSuffix, "does not follow",
       [&](std::string& b) { swap_entries(b, index::kOffsetEntrySize, 1, 2); }},
      {"entry dropped", segment::kIndexSuffix, "too sparse",
       [](std::string& b) { b.erase(2 * index::kOffsetEntrySize, index::kOffsetEntrySize); }},
      {"wrong timestamp", segment::kTimeIndexSuffix, "not the largest timestamp",
       [](std::string& b) { store_le<int64_t>(b.data(), load_le<int64_t>(b.data()) + 1); }},
      {"decreasing timestamps", segment::kTimeIndexSuffix, "does not follow",
       [&](std::string& b) { swap_entries(b, index::kTimeEntrySize, 0, 1); }},
      {"seal entry dropped", segment::kTimeIndexSuffix, "too sparse",
       [](std::string& b) { b.resize(b.size() - index::kTimeEntrySize); }},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    reset_dir();
    const auto path = w.file(0, c.suffix);
    std::string bytes = read_file(path);
    ASSERT_GE(bytes.size(), 3 * index::kTimeEntrySize);
    c.damage(bytes);
    write_file(path, bytes);
    auto found = recover(/*read_only=*/true);
    ASSERT_TRUE(found) << found.error().message();
    EXPECT_EQ(found->indexes_rebuilt, 1u);
    ASSERT_EQ(found->problems.size(), 1u);
    EXPECT_NE(found->problems[0].find(path.filename().string()), std::string::npos);
    EXPECT_NE(found->problems[0].find(c.problem), std::string::npos) << found->problems[0];
    auto r = recover();
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->indexes_rebuilt, 1u);
    EXPECT_EQ(testing::differing(snapshot(part()), pristine_), "");
  }
}

TEST_F(SegmentRecoveryTest, IndexesWrittenDenserThanTheIntervalAreKept) {
  auto w = write(120);
  SegmentRecoverySettings s;
  s.options = {1 << 20, 1024};  // sparser than the 256 written, and larger index files
  s.quarantine_dir = qdir();
  const auto times = testing::mtimes(part());
  auto r = SegmentRecovery(*parse_partition_dir(part()), s).run();
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->indexes_rebuilt, 0u);
  EXPECT_TRUE(r->clean()) << r->problems.front();
  EXPECT_EQ(testing::differing(snapshot(part()), pristine_), "");
  EXPECT_EQ(testing::mtimes(part()), times);
  // The other way round, the same indexes are too sparse.
  s.options = {600, 64};
  auto sparse = SegmentRecovery(*parse_partition_dir(part()), s).run();
  ASSERT_TRUE(sparse);
  EXPECT_GE(sparse->indexes_rebuilt, w.bases().size());
}

TEST_F(SegmentRecoveryTest, IndexesStayByteIdenticalWhenTheyFillUp) {
  // 600-byte indexes hold 75 offset and 50 time entries: with interval 0 every batch is
  // indexed, so the time index fills first and later batches get offset entries only.
  {
    PartitionWriter w(part(), 1 << 30, Offset{0}, {600, 0});
    w.append_batches(140);
    EXPECT_GE(w.bases().size(), 3u);
    w.close();
    pristine_ = snapshot(part());
  }
  SegmentRecoverySettings s;
  s.options = {600, 0};
  s.quarantine_dir = qdir();
  for (const auto& [name, bytes] : pristine_) {
    if (name.ends_with("index")) fs::remove(part() / name);
  }
  auto r = SegmentRecovery(*parse_partition_dir(part()), s).run();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->indexes_rebuilt, 2u * r->segments);
  EXPECT_EQ(testing::differing(snapshot(part()), pristine_), "");
}

TEST_F(SegmentRecoveryTest, OverlappingAndNonContiguousSegmentsAreCut) {
  auto w = write(100);
  ASSERT_GE(w.bases().size(), 4u);
  for (int64_t shift : {-1, 5}) {
    SCOPED_TRACE(shift);
    reset_dir();
    const Offset moved{w.bases()[2].value + shift};
    for (auto suffix : {segment::kLogSuffix, segment::kIndexSuffix, segment::kTimeIndexSuffix}) {
      fs::rename(w.file(2, suffix), part() / segment::segment_file_name(moved, suffix));
    }
    auto r = recover();
    ASSERT_TRUE(r);
    ASSERT_TRUE(r->truncation);
    const std::error_code ec = shift < 0 ? Errc::segment_overlap : Errc::segment_gap;
    EXPECT_NE(r->truncation->find(ec.message()), std::string::npos) << *r->truncation;
    EXPECT_EQ(r->segments, 2u);
    EXPECT_EQ(r->next_offset, w.bases()[2]);
    EXPECT_FALSE(fs::exists(part() / segment::segment_file_name(moved, segment::kLogSuffix)));
    auto q = testing::quarantined(qdir());
    EXPECT_EQ(q[segment::segment_file_name(moved, segment::kLogSuffix)],
              pristine_[w.file(2, segment::kLogSuffix).filename()]);
    EXPECT_EQ(q.size(), w.bases().size() - 2);
    // The new last segment is now the active one: the writer reopens it and appends.
    auto seg = segment::Segment::open(part(), w.bases()[1], testing::segment_options(), true,
                                      testing::kNow);
    ASSERT_TRUE(seg) << seg.error().message();
    EXPECT_EQ((*seg)->next_offset(), w.bases()[2]);
  }
}

TEST_F(SegmentRecoveryTest, StrayFilesAreRemovedOrIgnoredAndReported) {
  auto w = write(100);
  const Offset empty_base{w.bases()[1].value + 1};
  write_file(part() / segment::segment_file_name(empty_base, segment::kLogSuffix), "");
  write_file(part() / segment::segment_file_name(empty_base, segment::kIndexSuffix),
             std::string(600, '\0'));
  write_file(part() / "00000000000000099999.index", "orphan");
  write_file(part() / "00000000000000099999.timeindex", "orphan");
  write_file(part() / "00000000000000001000.index.tmp", "half");
  write_file(part() / "00000000000000000042.log.deleted", "old");
  write_file(part() / "notes.txt", "keep me");
  write_file(part() / segment::kTopicConfigFile, "retention.ms=1\n");
  write_file(part() / segment::kLogStartOffsetFile, "1000");
  fs::create_directories(part() / "somedir");
  auto r = recover();
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->strays.size(), 5u);
  EXPECT_EQ(r->segments_removed, 1u);
  for (const char* gone : {"00000000000000099999.index", "00000000000000099999.timeindex",
                           "00000000000000001000.index.tmp", "00000000000000000042.log.deleted"}) {
    EXPECT_FALSE(fs::exists(part() / gone)) << gone;
  }
  EXPECT_FALSE(fs::exists(part() / segment::segment_file_name(empty_base, segment::kLogSuffix)));
  EXPECT_FALSE(fs::exists(part() / segment::segment_file_name(empty_base, segment::kIndexSuffix)));
  EXPECT_EQ(read_file(part() / "notes.txt"), "keep me");
  EXPECT_EQ(read_file(part() / segment::kLogStartOffsetFile), "1000");
  EXPECT_TRUE(fs::exists(part() / segment::kTopicConfigFile));
  EXPECT_EQ(r->ignored.size(), 2u);
  EXPECT_FALSE(r->truncation);
  EXPECT_EQ(r->next_offset, w.next_offset());
  auto again = recover();
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->strays.empty());
  EXPECT_TRUE(again->clean());
}

TEST_F(SegmentRecoveryTest, RepeatedCutsNeverOverwriteQuarantinedCopies) {
  auto w = write(40);
  const auto log = w.file(w.bases().size() - 1, ".log");
  std::vector<std::string> cut_bytes;
  for (int round = 0; round < 3; ++round) {
    const std::string before = read_file(log);
    fs::resize_file(log, before.size() - 5);
    cut_bytes.push_back(
        before.substr(w.batches()[w.batches().size() - 1 - round].position,
                      before.size() - 5 - w.batches()[w.batches().size() - 1 - round].position));
    auto r = recover();
    ASSERT_TRUE(r);
    ASSERT_TRUE(r->truncation);
    EXPECT_EQ(r->next_offset, w.batches()[w.batches().size() - 1 - round].base);
  }
  size_t copies = 0;
  size_t notes = 0;
  std::vector<std::string> contents;
  for (const auto& e : fs::directory_iterator(qdir())) {
    const std::string name = e.path().filename().string();
    if (name.starts_with("cut.") && name.ends_with(".json")) {
      ++notes;
      const std::string note = read_file(e.path());
      EXPECT_NE(note.find("\"reason\": \"" + log.filename().string() + ": batch truncated"),
                std::string::npos)
          << note;
      EXPECT_NE(note.find("\"position\": "), std::string::npos);
    } else {
      EXPECT_TRUE(name.starts_with(log.filename().string() + ".")) << name;
      ++copies;
      contents.push_back(read_file(e.path()));
    }
  }
  EXPECT_EQ(copies, 3u);
  EXPECT_EQ(notes, 3u);
  std::sort(contents.begin(), contents.end());
  std::sort(cut_bytes.begin(), cut_bytes.end());
  EXPECT_EQ(contents, cut_bytes);
}

TEST_F(SegmentRecoveryTest, EmptyLastSegmentIsKept) {
  auto w = write(30);
  const Offset next = w.next_offset();
  ASSERT_TRUE(segment::Segment::create(part(), next, testing::segment_options(), testing::kNow));
  auto r = recover();
  ASSERT_TRUE(r);
  EXPECT_TRUE(fs::exists(part() / segment::segment_file_name(next, segment::kLogSuffix)));
  EXPECT_EQ(r->next_offset, next);
  EXPECT_EQ(r->segments, w.bases().size() + 1);
}

TEST_F(SegmentRecoveryTest, EachBatchCheckHasItsError) {
  segment::BatchBuilder b;
  b.add({"k", "value", {}, 5});
  auto bytes = b.finish();
  segment::stamp_batch(bytes, Offset{10}, 0);
  auto ok = check_batch(bytes, Offset{10}, Offset{10});
  ASSERT_TRUE(ok);
  EXPECT_EQ(check_batch(bytes, Offset{11}, Offset{10}).error(), Errc::non_contiguous_offset);
  EXPECT_EQ(check_batch(std::span(bytes).first(bytes.size() - 1), Offset{10}, Offset{10}).error(),
            segment::Errc::truncated);
  EXPECT_EQ(check_batch(bytes, Offset{10}, Offset{10 - (1LL << 33)}).error(),
            Errc::offset_overflow);
  // A batch whose last offset would pass INT64_MAX (found by tests/fuzz/recovery_fuzz.cc: the
  // range check itself overflowed).
  segment::BatchBuilder two;
  two.add({"k", "a", {}, 5});
  two.add({"k", "b", {}, 5});
  auto tbytes = two.finish();
  const Offset top{INT64_MAX};
  segment::stamp_batch(tbytes, top, 0);
  EXPECT_EQ(check_batch(tbytes, top, top).error(), Errc::offset_overflow);
  // Nor may a batch end at INT64_MAX: there would be no next offset for the segment to have.
  segment::stamp_batch(bytes, top, 0);
  EXPECT_EQ(check_batch(bytes, top, top).error(), Errc::offset_overflow);
  segment::BatchBuilder neg;
  neg.add({"k", "value", {}, -5});
  auto nbytes = neg.finish();
  segment::stamp_batch(nbytes, Offset{10}, 0);
  EXPECT_EQ(check_batch(nbytes, Offset{10}, Offset{10}).error(), Errc::negative_timestamp);
}

TEST_F(SegmentRecoveryTest, AMissingEpochCheckpointIsRebuiltFromTheBatchHeaders) {
  PartitionWriter w(part(), 4096, Offset{1000});
  w.append_batches(10);
  w.set_epoch(2);
  w.append_batches(10);
  const Offset epoch5 = w.next_offset();
  w.set_epoch(5);
  w.append_batches(10);
  w.close();
  const Offset epoch2 = w.batches()[10].base;
  auto r = recover();
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->problems.size(), 1u);
  EXPECT_NE(r->problems[0].find("leader-epoch-checkpoint is missing"), std::string::npos)
      << r->problems[0];
  EXPECT_EQ(read_file(part() / segment::kLeaderEpochFile),
            fmt::format("0\n3\n0 1000\n2 {}\n5 {}\n", epoch2.value, epoch5.value));
  // Once rebuilt, it matches the log: the next recovery finds nothing to do.
  auto again = recover();
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->clean()) << again->problems.front();
}

TEST_F(SegmentRecoveryTest, EpochEntriesPastTheLogEndAreDroppedAndAMalformedFileRebuilt) {
  PartitionWriter w(part(), 4096, Offset{1000});
  w.set_epoch(1);
  w.append_batches(20);
  w.close();
  const auto end = w.next_offset().value;
  // A leadership that began at the end (nothing written yet) and one past it (cut by a crash).
  write_file(part() / segment::kLeaderEpochFile,
             fmt::format("0\n3\n1 1000\n2 {}\n3 {}\n", end, end + 5));
  auto r = recover();
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->clean()) << r->problems.front();
  EXPECT_EQ(read_file(part() / segment::kLeaderEpochFile), "0\n1\n1 1000\n");

  write_file(part() / segment::kLeaderEpochFile, "0\n2\n1 1000\n");  // count says 2
  auto rebuilt = recover();
  ASSERT_TRUE(rebuilt);
  ASSERT_EQ(rebuilt->problems.size(), 1u);
  EXPECT_NE(rebuilt->problems[0].find("malformed"), std::string::npos) << rebuilt->problems[0];
  EXPECT_EQ(read_file(part() / segment::kLeaderEpochFile), "0\n1\n1 1000\n");
}

TEST_F(SegmentRecoveryTest, ABatchOfALowerEpochIsDamageAndIsQuarantined) {
  PartitionWriter w(part(), 1 << 20, Offset{1000});
  w.set_epoch(3);
  w.append_batches(5);
  const Offset cut_at = w.next_offset();
  w.set_epoch(1);  // written after a higher epoch: no replica would accept it
  w.append_batches(2);
  w.close();
  auto r = recover();
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_TRUE(r->truncation.has_value());
  EXPECT_NE(r->truncation->find("leader epoch lower"), std::string::npos) << *r->truncation;
  EXPECT_EQ(r->next_offset, cut_at);
  EXPECT_FALSE(testing::quarantined(qdir()).empty());
}

}  // namespace
}  // namespace sluice::recovery
