#include "cluster/fetch_answer.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <charconv>

namespace sluice::cluster {
namespace {

bool parse_int(std::string_view text, int64_t& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && ec == std::errc{} && end == text.data() + text.size();
}

FetchAnswer refused(std::string message, int64_t code = 0) {
  FetchAnswer a;
  a.kind = FetchAnswer::Kind::refused;
  a.error_code = code;
  a.message = std::move(message);
  return a;
}

}  // namespace

FetchAnswer parse_fetch_answer(unsigned status, std::span<std::byte> body,
                               const FetchHeaders& headers, int32_t epoch, Offset offset,
                               Offset log_end) {
  const std::string_view epoch_header = headers.leader_epoch;
  const std::string_view high_watermark = headers.high_watermark;
  const std::string_view text(reinterpret_cast<const char*>(body.data()), body.size());
  if (status != 200) {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    int64_t code = 0;
    if (text.empty() || parser.parse(text.data(), text.size()).get(doc) ||
        doc["error_code"].get(code)) {
      return refused(fmt::format("answered {} without a readable error", status));
    }
    std::string_view message;
    if (doc["message"].get(message)) message = "";
    if (status == 416) {
      int64_t start = -1;
      if (!parse_int(headers.log_start, start) || start <= log_end.value) {
        return refused(fmt::format("answered 416 without a log start past {}", log_end.value),
                       code);
      }
      FetchAnswer a;
      a.kind = FetchAnswer::Kind::behind;
      a.log_start = start;
      return a;
    }
    if (status == 409 && code == 40904) {
      int64_t cut = -1;
      int64_t diverging = -1;
      if (doc["end_offset"].get(cut) || doc["diverging_epoch"].get(diverging) || cut < 0 ||
          diverging < -1 || diverging > INT32_MAX) {
        return refused(fmt::format("a divergence this log cannot follow: {}", text.substr(0, 200)),
                       code);
      }
      FetchAnswer a;
      a.kind = FetchAnswer::Kind::diverged;
      a.end_offset = cut;
      a.diverging_epoch = diverging;
      return a;
    }
    return refused(fmt::format("answered {} ({}): {}", status, code, message.substr(0, 200)), code);
  }
  int64_t answered_epoch = -1;
  if (!parse_int(epoch_header, answered_epoch) || answered_epoch != epoch) {
    return refused(
        fmt::format("answered for epoch '{}', not {}", epoch_header.substr(0, 20), epoch));
  }
  FetchAnswer a;
  a.kind = FetchAnswer::Kind::records;
  if (!parse_int(high_watermark, a.high_watermark) || a.high_watermark < 0) {
    return refused("answered without a high watermark");
  }
  // Every batch is checked before any is used: a peer that sends garbage changes nothing.
  auto rest = body;
  while (!rest.empty()) {
    auto batch = segment::ValidBatch::check(rest);
    if (!batch) return refused(fmt::format("sent an invalid batch: {}", batch.error().message()));
    rest = rest.subspan(batch->bytes().size());
    a.batches.push_back(*batch);
  }
  Offset next = offset;
  for (const auto& b : a.batches) {
    if (b.header().base_offset != next) {
      return refused(fmt::format("sent a batch at offset {} where {} was due",
                                 b.header().base_offset.value, next.value));
    }
    next = b.header().next_offset();
  }
  // Where the leader's segment of these batches begins (absent from older leaders): at or
  // before the first of them.
  if (!headers.segment_base.empty()) {
    int64_t base = -1;
    if (!parse_int(headers.segment_base, base) || base < 0 ||
        (!a.batches.empty() && base > offset.value)) {
      return refused(fmt::format("answered a segment base '{}' that does not hold offset {}",
                                 headers.segment_base.substr(0, 20), offset.value));
    }
    a.segment_base = base;
  }
  return a;
}

}  // namespace sluice::cluster
