#include "net/http/buffer_pool.h"

#include <utility>

namespace sluice::net {

namespace {
thread_local std::vector<std::vector<char>> pooled;
}  // namespace

std::vector<char> take_buffer(size_t capacity) {
  for (size_t i = pooled.size(); i-- > 0;) {
    if (pooled[i].capacity() >= capacity) {
      std::vector<char> out = std::move(pooled[i]);
      pooled.erase(pooled.begin() + static_cast<std::ptrdiff_t>(i));
      return out;
    }
  }
  std::vector<char> out;
  out.reserve(capacity);
  return out;
}

void give_back(std::vector<char>&& buffer) {
  if (buffer.capacity() == 0) return;
  if (pooled.size() < kPooledPerThread) {
    pooled.push_back(std::move(buffer));
  } else {
    std::vector<char>().swap(buffer);
  }
}

}  // namespace sluice::net
