#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>

#include "common/file.h"
#include "common/result.h"

namespace sluice::index::detail {

// Owns an open file and one shared mapping of its first bytes. Move-only; the destructor
// unmaps and closes, and a moved-from MappedFile holds neither.
//
// The mapping may outlive the end of the file (after resize() shrinks it): callers must never
// touch mapped bytes at or past file_bytes(), which would raise SIGBUS. A mapping of length 0
// is never made; data() is then null.
//
// Not thread-safe by itself: the index types above say who may call what.
class MappedFile {
 public:
  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  // writable: opened read-write and created when missing. Otherwise opened read-only; a missing
  // file is an error (ENOENT). Nothing is mapped yet.
  [[nodiscard]] static Result<MappedFile> open(const std::filesystem::path& path, bool writable);

  // Maps the first `length` bytes, read-write or read-only as opened. A writable file shorter
  // than `length` is extended with zeros first. A read-only `length` must not pass the file's end.
  [[nodiscard]] Result<void> map(size_t length);

  // Sets the file's size (ftruncate) without remapping. Growing fills with zeros, as a hole.
  [[nodiscard]] Result<void> resize(uint64_t bytes);

  // Allocates the file's blocks below `bytes` (at most its size). A store through the mapping
  // into a hole needs a block, and on a full filesystem that store raises SIGBUS; below
  // reserved_bytes() it cannot, and a full filesystem shows here as ENOSPC instead. Where the
  // filesystem cannot allocate ahead (EOPNOTSUPP), the bytes count as reserved.
  [[nodiscard]] Result<void> reserve(uint64_t bytes);

  // Writes the first `bytes` mapped bytes back (msync) and fdatasyncs the file.
  [[nodiscard]] Result<void> sync(size_t bytes) const;

  std::byte* data() const noexcept { return data_; }
  size_t mapped_bytes() const noexcept { return length_; }
  uint64_t file_bytes() const noexcept { return file_bytes_; }
  // Where the file's first hole starts (lseek SEEK_HOLE), or its size. Reading a hole through
  // the mapping is not free everywhere: on tmpfs it allocates a page, and raises SIGBUS when
  // the filesystem is full.
  uint64_t leading_data_bytes() const noexcept;
  uint64_t reserved_bytes() const noexcept { return reserved_bytes_; }
  bool writable() const noexcept { return writable_; }
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  void unmap() noexcept;

  File file_;
  std::byte* data_ = nullptr;
  size_t length_ = 0;
  uint64_t file_bytes_ = 0;
  uint64_t reserved_bytes_ = 0;  // blocks below this are allocated (see reserve)
  bool writable_ = false;
  std::filesystem::path path_;
};

}  // namespace sluice::index::detail
