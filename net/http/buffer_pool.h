#pragma once

#include <cstddef>
#include <vector>

namespace sluice::net {

// Large I/O buffers (a TLS write's ciphertext, a chunk of a file sent over TLS) kept per thread
// for the next request. Allocated and freed per request, a buffer this size is a fresh mapping
// each time (glibc hands blocks this large back to the kernel): faulted in page by page, then
// unmapped with a TLB flush on every core, which cost more than encrypting its bytes. A
// connection stays on one thread, so a reused buffer is also warm in that core's cache.
//
// At most kPooledPerThread buffers wait per thread, so idle connections hold none.
inline constexpr size_t kPooledPerThread = 4;

// A buffer with capacity for at least `capacity` bytes: one given back on this thread (its
// size as it was given back), or a new empty one.
std::vector<char> take_buffer(size_t capacity);
// Keeps `buffer` for a later take_buffer on this thread if there is room; frees it otherwise.
void give_back(std::vector<char>&& buffer);

}  // namespace sluice::net
