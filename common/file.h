#pragma once

#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace sluice {

// Owns one file descriptor. Move-only; a moved-from File is closed.
class File {
 public:
  File() = default;
  explicit File(int fd) noexcept : fd_(fd) {}
  File(File&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  File& operator=(File&& other) noexcept {
    if (this != &other) {
      close();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  ~File() { close(); }

  [[nodiscard]] static Result<File> open(const std::filesystem::path& path, int flags,
                                         mode_t mode = 0644) {
    int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
    if (fd < 0) return errno_code(errno);
    return File(fd);
  }

  int fd() const noexcept { return fd_; }
  bool is_open() const noexcept { return fd_ >= 0; }

  void close() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  [[nodiscard]] Result<uint64_t> size() const {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) return errno_code(errno);
    return static_cast<uint64_t>(st.st_size);
  }

  // Reads up to buf.size() bytes at pos; fewer only at end of file.
  [[nodiscard]] Result<size_t> pread_full(std::span<std::byte> buf, uint64_t pos) const;

  // Writes all of data at pos, or fails (a full disk is ENOSPC).
  [[nodiscard]] Result<void> pwrite_all(std::span<const std::byte> data, uint64_t pos) const {
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n =
          ::pwrite(fd_, data.data() + done, data.size() - done, static_cast<off_t>(pos + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno_code(errno);
      }
      done += static_cast<size_t>(n);
    }
    return {};
  }

  // Writes every byte of `parts`, in order, from `pos`: one pwritev for up to IOV_MAX parts.
  [[nodiscard]] Result<void> pwritev_all(std::span<const std::span<const std::byte>> parts,
                                         uint64_t pos) const {
    std::vector<iovec> iov;
    iov.reserve(std::min<size_t>(parts.size(), IOV_MAX));
    size_t next = 0;  // first part not yet in iov
    while (true) {
      while (iov.size() < IOV_MAX && next < parts.size()) {
        auto part = parts[next++];
        if (part.empty()) continue;
        iov.push_back({const_cast<std::byte*>(part.data()), part.size()});
      }
      if (iov.empty()) return {};
      ssize_t n = ::pwritev(fd_, iov.data(), static_cast<int>(iov.size()), static_cast<off_t>(pos));
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno_code(errno);
      }
      if (n == 0) return errno_code(EIO);  // a regular file never takes nothing
      pos += static_cast<uint64_t>(n);
      // Drop what was written: whole parts, then the front of a partly written one.
      size_t done = 0;
      auto left = static_cast<size_t>(n);
      while (done < iov.size() && left >= iov[done].iov_len) left -= iov[done++].iov_len;
      iov.erase(iov.begin(), iov.begin() + static_cast<ptrdiff_t>(done));
      if (left > 0) {
        iov.front().iov_base = static_cast<std::byte*>(iov.front().iov_base) + left;
        iov.front().iov_len -= left;
      }
    }
  }

  [[nodiscard]] Result<void> truncate(uint64_t size) const {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) return errno_code(errno);
    return {};
  }

  [[nodiscard]] Result<void> datasync() const {
    if (::fdatasync(fd_) != 0) return errno_code(errno);
    return {};
  }

  [[nodiscard]] Result<void> sync() const {
    if (::fsync(fd_) != 0) return errno_code(errno);
    return {};
  }

 private:
  int fd_ = -1;
};

// A read-only shared mapping of a file's first bytes, for one sequential pass over them;
// unmapped on destruction. A size of 0 maps nothing (bytes() is then empty). The file must not
// shrink below the mapped size meanwhile: touching bytes past its end raises SIGBUS.
class ReadOnlyMapping {
 public:
  ReadOnlyMapping() = default;
  ReadOnlyMapping(const ReadOnlyMapping&) = delete;
  ReadOnlyMapping& operator=(const ReadOnlyMapping&) = delete;
  ~ReadOnlyMapping() {
    if (data_ != nullptr) ::munmap(data_, size_);
  }

  // Maps the first `size` bytes of `fd` (which may be closed afterwards).
  [[nodiscard]] Result<void> map(int fd, size_t size) {
    if (size == 0) return {};
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) return errno_code(errno);
    data_ = p;
    size_ = size;
    (void)::madvise(p, size, MADV_SEQUENTIAL);
    return {};
  }
  std::span<const std::byte> bytes() const { return {static_cast<const std::byte*>(data_), size_}; }

 private:
  void* data_ = nullptr;
  size_t size_ = 0;
};

// Reads up to buf.size() bytes at pos from a descriptor the caller keeps open; fewer only at
// end of file.
[[nodiscard]] inline Result<size_t> pread_full(int fd, std::span<std::byte> buf, uint64_t pos) {
  size_t done = 0;
  while (done < buf.size()) {
    ssize_t n = ::pread(fd, buf.data() + done, buf.size() - done, static_cast<off_t>(pos + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_code(errno);
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

inline Result<size_t> File::pread_full(std::span<std::byte> buf, uint64_t pos) const {
  return sluice::pread_full(fd_, buf, pos);
}

inline std::span<const std::byte> as_bytes(std::string_view s) noexcept {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

// The whole file, or an error (ENOENT when missing).
[[nodiscard]] inline Result<std::string> read_file(const std::filesystem::path& path) {
  auto f = File::open(path, O_RDONLY);
  if (!f) return f.error();
  auto size = f->size();
  if (!size) return size.error();
  std::string out(*size, '\0');
  auto n = f->pread_full({reinterpret_cast<std::byte*>(out.data()), out.size()}, 0);
  if (!n) return n.error();
  out.resize(*n);
  return out;
}

// Makes a directory's entries (creations, renames, removals) durable.
[[nodiscard]] inline Result<void> fsync_dir(const std::filesystem::path& dir) {
  auto f = File::open(dir, O_RDONLY | O_DIRECTORY);
  if (!f) return f.error();
  return f->sync();
}

// What write_file_atomically appends to the name it writes before renaming.
inline constexpr std::string_view kTempFileSuffix = ".tmp";

// Replaces `path` with `content` so that a crash leaves either the old or the new file:
// write to a temporary name, fsync, rename over, fsync the directory. Trailing zeros are not
// written but left as a hole (an index preallocated to its maximum size is mostly zeros), and a
// failed write removes its temporary file, so that a full disk is left no fuller.
[[nodiscard]] inline Result<void> write_file_atomically(const std::filesystem::path& path,
                                                        std::span<const std::byte> content) {
  auto tmp = path;
  tmp += kTempFileSuffix;
  auto write = [&]() -> Result<void> {
    auto f = File::open(tmp, O_WRONLY | O_CREAT | O_TRUNC);
    if (!f) return f.error();
    size_t data = content.size();
    while (data > 0 && content[data - 1] == std::byte{0}) --data;
    if (auto r = f->pwrite_all(content.first(data), 0); !r) return r.error();
    if (data < content.size()) {
      if (auto r = f->truncate(content.size()); !r) return r.error();
    }
    return f->sync();
  };
  if (auto r = write(); !r) {
    ::unlink(tmp.c_str());
    return r.error();
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(tmp.c_str());
    return errno_code(error);
  }
  return fsync_dir(path.parent_path().empty() ? "." : path.parent_path());
}

[[nodiscard]] inline Result<void> write_file_atomically(const std::filesystem::path& path,
                                                        std::string_view content) {
  return write_file_atomically(path, as_bytes(content));
}

}  // namespace sluice
