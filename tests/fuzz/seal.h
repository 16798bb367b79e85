#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/endian.h"
#include "segment/batch.h"
#include "segment/format.h"

namespace sluice::fuzz {

// Makes `batch` claim exactly its own length, with magic 2 and both checksums right, so that a
// fuzzer's bytes get past the checks in front of the record walk. Needs at least a header.
inline void seal_batch(std::span<std::byte> batch) {
  std::byte* b = batch.data();
  store_le<int32_t>(b + segment::kBatchLengthPos,
                    static_cast<int32_t>(batch.size() - segment::kLogOverhead));
  b[segment::kMagicPos] = std::byte{segment::kMagic};
  store_le<uint64_t>(b + segment::kChecksumPos,
                     segment::checksum(batch.subspan(segment::kChecksummedFrom)));
  // Rewrites the base offset and epoch with their own values, and the header checksum.
  segment::stamp_batch(batch, Offset{load_le<int64_t>(b + segment::kBaseOffsetPos)},
                       load_le<int32_t>(b + segment::kLeaderEpochPos));
}

}  // namespace sluice::fuzz
