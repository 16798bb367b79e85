#include "broker/scrub.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <vector>

#include "broker/partition_log.h"
#include "broker/topic_registry.h"
#include "common/clock.h"
#include "common/file.h"
#include "common/json_writer.h"
#include "recovery/segment_scan.h"
#include "segment/errors.h"
#include "segment/layout.h"
#include "segment/segment.h"

namespace sluice::broker {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kChunk = size_t{1} << 20;  // read this much at a time
// A pass over little data still waits this long before the next one starts.
constexpr auto kMinPass = std::chrono::seconds(1);

}  // namespace

Scrubber::Scrubber(TopicRegistry& topics, int64_t bytes_per_second)
    : topics_(topics), bytes_per_second_(std::max<int64_t>(bytes_per_second, 0)) {}

Scrubber::~Scrubber() { stop(); }

void Scrubber::start() {
  if (!enabled() || thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void Scrubber::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Scrubber::set_repair(recovery::RepairFn repair) {
  std::lock_guard lock(mu_);
  repair_ = std::move(repair);
}

std::optional<Scrubber::Finding> Scrubber::last_finding() const {
  std::lock_guard lock(mu_);
  return last_finding_;
}

std::string Scrubber::to_json() const {
  std::string out;
  JsonWriter w(out);
  w.begin_object()
      .key("bytes_per_second")
      .value(bytes_per_second_)
      .key("passes")
      .value(counters_.passes.load())
      .key("segments")
      .value(counters_.segments.load())
      .key("bytes")
      .value(counters_.bytes.load())
      .key("damaged")
      .value(counters_.damaged.load())
      .key("repaired")
      .value(counters_.repaired.load())
      .key("last_finding");
  if (auto f = last_finding()) {
    w.begin_object()
        .key("partition")
        .value(f->partition)
        .key("segment")
        .value(f->segment)
        .key("position")
        .value(f->position)
        .key("error")
        .value(f->error)
        .key("repaired_from");
    if (f->repaired_from) {
      w.value(int64_t{*f->repaired_from});
    } else {
      w.null();
    }
    w.key("detail").value(f->detail).key("at_ms").value(f->at_ms).end_object();
  } else {
    w.null();
  }
  w.end_object();
  return out;
}

bool Scrubber::sleep_for(Clock::duration d) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return stopping_; });
}

bool Scrubber::pace(uint64_t bytes) {
  counters_.bytes.fetch_add(bytes, std::memory_order_relaxed);
  pass_bytes_ += bytes;
  const auto due =
      pass_start_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                        static_cast<double>(pass_bytes_) / static_cast<double>(bytes_per_second_)));
  const auto now = Clock::now();
  if (due > now) return sleep_for(due - now);
  std::lock_guard lock(mu_);
  return !stopping_;
}

void Scrubber::run() {
  while (true) {
    pass_start_ = Clock::now();
    pass_bytes_ = 0;
    for (const auto& log : topics_.all_partitions()) {
      scrub(*log);
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    counters_.passes.fetch_add(1, std::memory_order_relaxed);
    const auto took = Clock::now() - pass_start_;
    if (!sleep_for(took < kMinPass ? kMinPass - took : Clock::duration::zero())) return;
  }
}

std::optional<std::pair<uint64_t, std::string>> Scrubber::check(const segment::Segment& s,
                                                                Offset& expected) {
  const uint64_t size = s.size_bytes();
  std::vector<std::byte> buffer(kChunk);
  uint64_t pos = 0;
  while (pos < size) {
    const uint64_t want = std::min<uint64_t>(buffer.size(), size - pos);
    auto got = pread_full(s.fd(), std::span(buffer.data(), want), pos);
    if (!got) return std::pair{pos, fmt::format("cannot read: {}", got.error().message())};
    if (*got < want) return std::pair{pos + *got, std::string("the file ends early")};
    if (!pace(want)) return std::nullopt;
    const std::span<const std::byte> chunk(buffer.data(), want);
    uint64_t used = 0;  // whole valid batches; the next chunk starts after them
    while (used < want) {
      auto header = recovery::check_batch(chunk.subspan(used), expected, s.base_offset());
      if (header) {
        used += header->size_bytes();
        expected = header->next_offset();
        continue;
      }
      // A batch that runs past this chunk but not past the file is read again from its
      // start with the next chunk, in a buffer grown to hold it when it alone fills this one.
      if (header.error() == segment::Errc::truncated && pos + want < size) {
        if (used > 0) break;
        const auto parsed = segment::parse_header(chunk);
        if (parsed && parsed->size_bytes() > buffer.size() && parsed->size_bytes() <= size - pos) {
          buffer.resize(parsed->size_bytes());
          break;
        }
      }
      return std::pair{pos + used, header.error().message()};
    }
    pos += used;
  }
  return std::nullopt;
}

void Scrubber::scrub(PartitionLog& log) {
  const auto sealed = log.sealed_segments();
  for (size_t i = 0; i < sealed.size(); ++i) {
    const auto& s = sealed[i];
    Offset expected = s->base_offset();
    auto damage = check(*s, expected);
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    counters_.segments.fetch_add(1, std::memory_order_relaxed);
    if (!damage) continue;
    // A follower that cut its log meanwhile reopened the segment: not damage.
    if (log.sealed_segment(s->base_offset()) != s) continue;
    // Where its batches end: the next segment's base.
    const auto next = i + 1 < sealed.size() ? sealed[i + 1]->base_offset() : log.active_base();
    recovery::SegmentDamage d;
    d.topic = log.topic();
    d.partition = log.partition();
    d.log_file = s->log_path();
    d.base = s->base_offset();
    d.position = damage->first;
    d.expected = expected;
    d.end = next;
    d.file_size = s->size_bytes();
    d.reason = fmt::format("{}: {} at position {}",
                           segment::segment_file_name(d.base, segment::kLogSuffix), damage->second,
                           d.position);
    d.quarantine_dir = log.quarantine_dir();
    counters_.damaged.fetch_add(1, std::memory_order_relaxed);
    recovery::RepairFn repair;
    {
      std::lock_guard lock(mu_);
      repair = repair_;
    }
    recovery::RepairOutcome outcome{std::nullopt, "no replica to copy from (a standalone log)"};
    if (repair) outcome = repair(d);
    Finding f{d.name(),       d.base.value,   d.position, d.reason, outcome.from_broker,
              outcome.detail, wall_clock_ms()};
    if (outcome.from_broker) {
      counters_.repaired.fetch_add(1, std::memory_order_relaxed);
      spdlog::warn("scrub: {}: {}; repaired from broker {}", d.name(), d.reason,
                   *outcome.from_broker);
    } else {
      spdlog::error(
          "scrub: {}: {}; not repaired ({}): the next start-up recovery cuts the log "
          "there",
          d.name(), d.reason, outcome.detail);
    }
    std::lock_guard lock(mu_);
    last_finding_ = std::move(f);
  }
}

}  // namespace sluice::broker
