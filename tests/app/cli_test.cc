#include "app/cli.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "recovery/segment_recovery.h"
#include "tests/recovery/partition_fixture.h"
#include "tests/temp_dir.h"

namespace sluice::app {
namespace {

using recovery::RecoveryOptions;
using recovery::testing::PartitionWriter;
using recovery::testing::read_file;
using recovery::testing::write_file;
namespace fs = std::filesystem;

// The CLI recovers with the broker's default topic settings.
const segment::SegmentOptions kBrokerDefaults{RecoveryOptions{}.index_max_bytes,
                                              RecoveryOptions{}.index_interval_bytes};

// `sluice <args>...` in this process.
int call(std::vector<std::string> args) {
  args.insert(args.begin(), "sluice");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return run(static_cast<int>(argv.size()), argv.data());
}

class CliTest : public ::testing::Test {
 protected:
  fs::path log_dir() const { return tmp_.path(); }
  std::string dir() const { return log_dir().string(); }

  // verify with stdout captured; checks that it changed no byte and no mtime.
  int verify(std::vector<std::string> extra = {}) {
    const auto files = recovery::testing::snapshot(log_dir());
    const auto times = recovery::testing::mtimes(log_dir());
    const bool had_quarantine = fs::exists(log_dir() / segment::kQuarantineDir);
    std::vector<std::string> args{"verify", "--log-dir", dir()};
    args.insert(args.end(), extra.begin(), extra.end());
    ::testing::internal::CaptureStdout();
    const int rc = call(args);
    output_ = ::testing::internal::GetCapturedStdout();
    EXPECT_EQ(recovery::testing::differing(recovery::testing::snapshot(log_dir()), files), "");
    EXPECT_EQ(recovery::testing::mtimes(log_dir()), times);
    EXPECT_EQ(fs::exists(log_dir() / segment::kQuarantineDir), had_quarantine);
    return rc;
  }

  int recover() {
    ::testing::internal::CaptureStdout();
    const int rc = call({"recover", "--log-dir", dir(), "--threads", "2"});
    output_ = ::testing::internal::GetCapturedStdout();
    return rc;
  }

  // Writes a fresh partition "c-0" of several segments, damages it, expects verify to say 1
  // and then recover to fix it, so that verify says 0.
  void check_detected(const std::string& what,
                      const std::function<void(PartitionWriter&)>& damage) {
    SCOPED_TRACE(what);
    fs::remove_all(log_dir() / "c-0");
    fs::remove_all(log_dir() / segment::kQuarantineDir);
    fs::remove(log_dir() / segment::kRecoveryReportFile);
    PartitionWriter w(log_dir() / "c-0", 4096, Offset{0}, kBrokerDefaults);
    w.append_batches(80);
    w.close();
    ASSERT_EQ(verify(), 0) << output_;
    damage(w);
    EXPECT_EQ(verify(), 1) << output_;
    EXPECT_EQ(recover(), 0) << output_;
    EXPECT_EQ(verify(), 0) << output_;
  }

  sluice::testing::TempDir tmp_;
  std::string output_;
};

TEST_F(CliTest, VerifyFindsEachKindOfCorruptionAndRecoverFixesIt) {
  auto flip = [](const fs::path& p, size_t pos) {
    std::string b = read_file(p);
    b[pos] = static_cast<char>(b[pos] ^ 1);
    write_file(p, b);
  };
  check_detected("torn tail", [](PartitionWriter& w) {
    const auto p = w.file(w.bases().size() - 1, segment::kLogSuffix);
    fs::resize_file(p, fs::file_size(p) - 1);
  });
  check_detected("bit flip",
                 [&](PartitionWriter& w) { flip(w.file(1, segment::kLogSuffix), 333); });
  check_detected("deleted index",
                 [](PartitionWriter& w) { fs::remove(w.file(0, segment::kIndexSuffix)); });
  check_detected("truncated time index", [](PartitionWriter& w) {
    fs::resize_file(w.file(1, segment::kTimeIndexSuffix), 12);
  });
  check_detected("zeroed time index", [](PartitionWriter& w) {
    write_file(w.file(2, segment::kTimeIndexSuffix),
               std::string(fs::file_size(w.file(2, segment::kTimeIndexSuffix)), '\0'));
  });
  check_detected("garbled active index", [&](PartitionWriter& w) {
    flip(w.file(w.bases().size() - 1, segment::kIndexSuffix), 9);
  });
  check_detected("leftover tmp", [](PartitionWriter& w) {
    write_file(w.file(0, segment::kIndexSuffix).string() + std::string(segment::kTempSuffix), "x");
  });
  check_detected("deleted segment", [](PartitionWriter& w) {
    write_file(w.file(0, segment::kLogSuffix).string() + std::string(segment::kDeletedSuffix), "x");
  });
  check_detected("orphan index", [&](PartitionWriter&) {
    write_file(log_dir() / "c-0/00000000000000777777.index", "");
  });
  check_detected("empty middle log", [&](PartitionWriter& w) {
    write_file(log_dir() / "c-0" /
                   segment::segment_file_name({w.bases()[1].value + 1}, segment::kLogSuffix),
               "");
  });
  check_detected("overlap", [](PartitionWriter& w) {
    for (auto suffix : {segment::kLogSuffix, segment::kIndexSuffix, segment::kTimeIndexSuffix}) {
      const auto from = w.file(2, suffix);
      fs::rename(from,
                 from.parent_path() / segment::segment_file_name({w.bases()[2].value - 1}, suffix));
    }
  });
}

TEST_F(CliTest, VerifyPrintsATableOrJsonAndFiltersByTopic) {
  PartitionWriter a(log_dir() / "alpha-0", 4096, Offset{0}, kBrokerDefaults);
  a.append_batches(10);
  a.close();
  PartitionWriter b(log_dir() / "beta-1", 4096, Offset{0}, kBrokerDefaults);
  b.append_batches(10);
  b.close();
  ASSERT_EQ(verify(), 0);
  EXPECT_NE(output_.find("PARTITION"), std::string::npos);
  EXPECT_NE(output_.find("alpha-0"), std::string::npos);
  ASSERT_EQ(verify({"--topic", "beta", "--json"}), 0);
  EXPECT_EQ(output_.find("alpha-0"), std::string::npos);
  EXPECT_NE(output_.find("\"partition\": \"beta-1\""), std::string::npos);
  EXPECT_EQ(output_.front(), '{');
  write_file(log_dir() / "alpha-0" / "README", "not a segment");
  ASSERT_EQ(verify(), 0) << output_;  // unknown names are left alone, not corruption
  EXPECT_NE(output_.find("ignored: README"), std::string::npos) << output_;
}

TEST_F(CliTest, VerifyAcceptsIndexesWrittenWithAnotherInterval) {
  // A broker with log.index.interval.bytes=1024, verified with the default configuration.
  PartitionWriter w(log_dir() / "dense-0", 64 * 1024, Offset{0},
                    {kBrokerDefaults.index_max_bytes, 1024});
  w.append_batches(1500);
  w.close();
  ASSERT_GE(w.bases().size(), 2u);
  EXPECT_EQ(verify(), 0) << output_;
  EXPECT_NE(output_.find("dense-0"), std::string::npos) << output_;
  EXPECT_EQ(output_.find(segment::kIndexSuffix), std::string::npos) << output_;
  // Another segment.index.bytes changes nothing either.
  PartitionWriter small(log_dir() / "small-0", 4096);  // segment.index.bytes 600, interval 256
  small.append_batches(60);
  small.close();
  EXPECT_EQ(verify(), 0) << output_;
}

TEST_F(CliTest, VerifyReadsEachPartitionsTopicProperties) {
  PartitionWriter w(log_dir() / "sparse-0", 4096, Offset{0}, kBrokerDefaults);
  w.append_batches(60);
  w.close();
  EXPECT_EQ(verify(), 0) << output_;
  // Indexes every 4096 bytes are too sparse for a topic that asks for one every 256.
  write_file(log_dir() / "sparse-0" / segment::kTopicConfigFile,
             "# overrides\nsegment.index.bytes=600\nindex.interval.bytes=256\n");
  EXPECT_EQ(verify(), 1) << output_;
  EXPECT_NE(output_.find("too sparse"), std::string::npos) << output_;
  write_file(log_dir() / "sparse-0" / segment::kTopicConfigFile, "segment.index.bytes=banana\n");
  EXPECT_EQ(verify(), 1) << output_;
  EXPECT_NE(output_.find("bad topic.properties"), std::string::npos) << output_;
}

TEST_F(CliTest, UsageErrorsExitTwo) {
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(call({"verify"}), 2);
  EXPECT_EQ(call({"verify", "--log-dir"}), 2);
  EXPECT_EQ(call({"verify", "--log-dir", dir(), "--bogus"}), 2);
  EXPECT_EQ(call({"verify", "--log-dir", (log_dir() / "missing").string()}), 2);
  EXPECT_EQ(call({"recover", "--log-dir", dir(), "--threads", "zero"}), 2);
  EXPECT_EQ(call({"dump"}), 2);
  EXPECT_EQ(call({"dump", "x.txt"}), 2);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("--bogus"), std::string::npos);
}

TEST_F(CliTest, VerifyOfATopicWithNoPartitionExitsTwoNamingIt) {
  PartitionWriter a(log_dir() / "alpha-0", 4096, Offset{0}, kBrokerDefaults);
  a.append_batches(3);
  a.close();
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(verify({"--topic", "nosuch"}), 2) << output_;
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("'nosuch'"), std::string::npos) << err;
  EXPECT_EQ(output_, "");  // no empty table that reads as clean
}

TEST_F(CliTest, EveryCommandHasGeneratedHelp) {
  for (const std::string command : {"serve", "verify", "recover", "dump"}) {
    ::testing::internal::CaptureStdout();
    EXPECT_EQ(call({command, "--help"}), 0) << command;
    const std::string out = ::testing::internal::GetCapturedStdout();
    EXPECT_NE(out.find(command), std::string::npos) << out;
  }
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(call({"serve", "--help"}), 0);
  const std::string serve_help = ::testing::internal::GetCapturedStdout();
  EXPECT_NE(serve_help.find("--set"), std::string::npos) << serve_help;
  EXPECT_NE(serve_help.find("log.segment.bytes"), std::string::npos) << serve_help;
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(call({"--help"}), 0);
  const std::string help = ::testing::internal::GetCapturedStdout();
  for (const char* command : {"serve", "verify", "recover", "dump"}) {
    EXPECT_NE(help.find(command), std::string::npos) << help;
  }
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(call({}), 2);
  EXPECT_EQ(call({"nosuch"}), 2);
  EXPECT_EQ(call({"serve", "--bogus"}), 2);
  ::testing::internal::GetCapturedStderr();
}

TEST_F(CliTest, DumpPrintsBatchesRecordsAndIndexEntries) {
  const fs::path part = log_dir() / "d-0";
  fs::create_directories(part);
  {
    auto s = segment::Segment::create(part, Offset{5}, {4096, 0}, recovery::testing::kNow).value();
    segment::BatchBuilder b;
    const segment::HeaderView h{"h", std::string_view("v\x01")};
    b.add({"k1", "hello", std::span(&h, 1), 1000});
    b.add({std::nullopt, "wo\nrld", {}, 1002});
    auto bytes = b.finish();
    segment::stamp_batch(bytes, Offset{5}, 0);
    ASSERT_TRUE(s->append(bytes, *segment::parse_header(bytes)));
    b.reset();
    b.add({"k3", std::nullopt, {}, 2000});
    bytes = b.finish();
    segment::stamp_batch(bytes, Offset{7}, 0);
    ASSERT_TRUE(s->append(bytes, *segment::parse_header(bytes)));
    ASSERT_TRUE(s->seal());
  }
  const std::string log = (part / "00000000000000000005.log").string();
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(call({"dump", log, "--print-data"}), 0);
  std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("baseOffset: 5 lastOffset: 6 count: 2 partitionLeaderEpoch: 0 position: 0 "
                     "CreateTime: 1002 "
                     "size: "),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("| offset: 5 CreateTime: 1000 key: k1 value: hello headers: [h=v\\x01]"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("| offset: 6 CreateTime: 1002 key: null value: wo\\x0arld headers: []"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("baseOffset: 7 lastOffset: 7 count: 1 partitionLeaderEpoch: 0 position: "),
            std::string::npos);
  EXPECT_NE(out.find("valid: true"), std::string::npos);
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(call({"dump", (part / "00000000000000000005.index").string()}), 0);
  out = ::testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("offset: 5 position: 0\noffset: 7 position: "), std::string::npos) << out;
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(call({"dump", (part / "00000000000000000005.timeindex").string()}), 0);
  out = ::testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("timestamp: 1002 offset: 5\ntimestamp: 2000 offset: 7\n"), std::string::npos)
      << out;
  std::string bytes = read_file(log);
  bytes[bytes.size() - 3] ^= 0x10;
  write_file(log, bytes);
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(call({"dump", log}), 1);
  out = ::testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("baseOffset: 5"), std::string::npos);
  EXPECT_NE(out.find("error at position "), std::string::npos);
  EXPECT_NE(out.find("checksum mismatch"), std::string::npos) << out;
}

}  // namespace
}  // namespace sluice::app
