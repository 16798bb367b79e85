#include "index/detail/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

namespace sluice::index::detail {

MappedFile::MappedFile(MappedFile&& other) noexcept
    : file_(std::move(other.file_)),
      data_(std::exchange(other.data_, nullptr)),
      length_(std::exchange(other.length_, 0)),
      file_bytes_(std::exchange(other.file_bytes_, 0)),
      reserved_bytes_(std::exchange(other.reserved_bytes_, 0)),
      writable_(std::exchange(other.writable_, false)),
      path_(std::move(other.path_)) {
  other.path_.clear();
}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    unmap();
    file_ = std::move(other.file_);
    data_ = std::exchange(other.data_, nullptr);
    length_ = std::exchange(other.length_, 0);
    file_bytes_ = std::exchange(other.file_bytes_, 0);
    reserved_bytes_ = std::exchange(other.reserved_bytes_, 0);
    writable_ = std::exchange(other.writable_, false);
    path_ = std::move(other.path_);
    other.path_.clear();
  }
  return *this;
}

MappedFile::~MappedFile() { unmap(); }

void MappedFile::unmap() noexcept {
  if (data_ != nullptr) ::munmap(data_, length_);
  data_ = nullptr;
  length_ = 0;
}

Result<MappedFile> MappedFile::open(const std::filesystem::path& path, bool writable) {
  auto file = File::open(path, writable ? O_RDWR | O_CREAT : O_RDONLY);
  if (!file) return file.error();
  auto size = file->size();
  if (!size) return size.error();
  MappedFile mapped;
  mapped.file_ = std::move(*file);
  mapped.file_bytes_ = *size;
  mapped.writable_ = writable;
  mapped.path_ = path;
  return mapped;
}

Result<void> MappedFile::map(size_t length) {
  unmap();
  if (writable_ && file_bytes_ < length) {
    if (auto r = resize(length); !r) return r.error();
  }
  if (length == 0) return {};
  const int prot = writable_ ? PROT_READ | PROT_WRITE : PROT_READ;
  void* p = ::mmap(nullptr, length, prot, MAP_SHARED, file_.fd(), 0);
  if (p == MAP_FAILED) return errno_code(errno);
  data_ = static_cast<std::byte*>(p);
  length_ = length;
  return {};
}

Result<void> MappedFile::resize(uint64_t bytes) {
  if (auto r = file_.truncate(bytes); !r) return r.error();
  file_bytes_ = bytes;
  reserved_bytes_ = std::min(reserved_bytes_, bytes);
  return {};
}

uint64_t MappedFile::leading_data_bytes() const noexcept {
  const off_t hole = ::lseek(file_.fd(), 0, SEEK_HOLE);
  if (hole < 0) return file_bytes_;  // no SEEK_HOLE here: the whole file counts as data
  return std::min(static_cast<uint64_t>(hole), file_bytes_);
}

Result<void> MappedFile::reserve(uint64_t bytes) {
  bytes = std::min(bytes, file_bytes_);
  if (bytes <= reserved_bytes_) return {};
  const auto from = static_cast<off_t>(reserved_bytes_);
  const auto length = static_cast<off_t>(bytes - reserved_bytes_);
  if (::fallocate(file_.fd(), 0, from, length) != 0 && errno != EOPNOTSUPP) {
    return errno_code(errno);
  }
  reserved_bytes_ = bytes;
  return {};
}

Result<void> MappedFile::sync(size_t bytes) const {
  // msync only the bytes asked for: the rest of the mapping may lie past the end of the file.
  if (data_ != nullptr && bytes > 0 && ::msync(data_, bytes, MS_SYNC) != 0) {
    return errno_code(errno);
  }
  return file_.datasync();
}

}  // namespace sluice::index::detail
