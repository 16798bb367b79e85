#pragma once

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <vector>

namespace sluice::testing {

// Which of a file's pages are in the page cache (mincore over a read-only mapping); empty if
// the file is empty or cannot be mapped.
inline std::vector<bool> cached_pages(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  const auto size = static_cast<size_t>(std::filesystem::file_size(path));
  const auto page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<bool> out;
  void* map = size == 0 ? MAP_FAILED : ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  if (map != MAP_FAILED) {
    std::vector<unsigned char> in_core((size + page - 1) / page);
    if (::mincore(map, size, in_core.data()) == 0) {
      for (unsigned char c : in_core) out.push_back((c & 1) != 0);
    }
    ::munmap(map, size);
  }
  ::close(fd);
  return out;
}

inline size_t count_cached(const std::vector<bool>& pages) {
  return static_cast<size_t>(std::count(pages.begin(), pages.end(), true));
}

// posix_fadvise(DONTNEED) does nothing on tmpfs, where the page cache is the storage.
inline bool page_cache_is_droppable(const std::filesystem::path& dir) {
  struct statfs fs = {};
  return ::statfs(dir.c_str(), &fs) == 0 && fs.f_type != TMPFS_MAGIC;
}

}  // namespace sluice::testing
