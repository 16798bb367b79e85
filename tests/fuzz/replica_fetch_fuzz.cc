// A leader's answer to a follower's replica fetch is bytes from another broker: status,
// headers and body together must become records, a divergence or a refusal, never a crash,
// and records only as whole valid batches that continue the follower's log.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/fetch_answer.h"

// Input: status selector, then "epoch header\nhigh watermark header\n", then the body.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice;
  if (size < 1) return 0;
  static constexpr unsigned kStatuses[] = {200, 409, 421, 416, 404, 500};
  const unsigned status = kStatuses[data[0] % 6];
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto first = rest.find('\n');
  const auto epoch = first == std::string_view::npos ? rest : rest.substr(0, first);
  rest = first == std::string_view::npos ? std::string_view{} : rest.substr(first + 1);
  const auto second = rest.find('\n');
  const auto hw = second == std::string_view::npos ? rest : rest.substr(0, second);
  rest = second == std::string_view::npos ? std::string_view{} : rest.substr(second + 1);
  std::vector<std::byte> body(reinterpret_cast<const std::byte*>(rest.data()),
                              reinterpret_cast<const std::byte*>(rest.data()) + rest.size());
  // The high-watermark line doubles as the log start and the segment base.
  const auto answer =
      cluster::parse_fetch_answer(status, body, {epoch, hw, hw, hw}, 3, Offset{5}, Offset{9});
  if (answer.kind == cluster::FetchAnswer::Kind::records) {
    Offset next{5};
    for (const auto& b : answer.batches) {
      if (b.header().base_offset != next) std::abort();
      next = b.header().next_offset();
    }
  }
  if (answer.kind == cluster::FetchAnswer::Kind::behind && answer.log_start <= 9) std::abort();
  // A segment base names where the batches' segment begins: at or before them.
  if (answer.kind == cluster::FetchAnswer::Kind::records && !answer.batches.empty() &&
      answer.segment_base > 5) {
    std::abort();
  }
  if (answer.kind == cluster::FetchAnswer::Kind::diverged &&
      (answer.end_offset < 0 || answer.diverging_epoch < -1 ||
       answer.diverging_epoch > INT32_MAX)) {
    std::abort();
  }
  return 0;
}
