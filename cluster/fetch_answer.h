#pragma once

// A leader's answer to a follower's replica fetch (docs/CLUSTER.md, "The replica fetch"), as
// the follower reads it. Pure: bytes from another broker in, a decision out, so it can be
// fuzzed; a malformed answer is a refusal the follower backs off from, never a change.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/types.h"
#include "segment/batch.h"

namespace sluice::cluster {

struct FetchAnswer {
  enum class Kind {
    records,   // batches (maybe none) to append, and the leader's high watermark
    diverged,  // the leader's diverging_epoch ends at end_offset: cut (divergence_point), refetch
    behind,    // the leader's log starts at log_start, after this log's end: restart there
    refused,   // anything else: back off and fetch again (message says why)
  };
  Kind kind = Kind::refused;
  std::vector<segment::ValidBatch> batches;  // spans into the body passed in
  int64_t high_watermark = 0;
  int64_t end_offset = -1;
  int64_t diverging_epoch = -1;
  int64_t log_start = -1;
  int64_t segment_base = -1;  // where the leader's segment of the batches begins; -1 unknown
  int64_t error_code = 0;
  std::string message;
};

// The headers of an answer that the follower reads.
struct FetchHeaders {
  std::string_view leader_epoch;    // X-Sluice-Leader-Epoch
  std::string_view high_watermark;  // X-Sluice-High-Watermark
  std::string_view log_start;       // X-Sluice-Log-Start-Offset
  std::string_view segment_base;    // X-Sluice-Segment-Base (optional)
};

// `body` must outlive the batches (they point into it). A 200 must carry `epoch` in its epoch
// header and whole valid batches that start at `offset`; a 409 with error_code 40904 must name a
// non-negative end_offset and a diverging_epoch of -1 or more; a 416 is `behind` only with a log
// start past `log_end`.
FetchAnswer parse_fetch_answer(unsigned status, std::span<std::byte> body,
                               const FetchHeaders& headers, int32_t epoch, Offset offset,
                               Offset log_end);

}  // namespace sluice::cluster
