#pragma once

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "tests/temp_dir.h"

namespace sluice::testing {

// A tmpfs of a few megabytes mounted on a fresh temp directory, for tests of a full disk (or
// another in-memory file system, such as ramfs, which refuses O_DIRECT); unmounted on
// destruction. Mounting needs root and is refused in many containers: tests check mounted()
// and skip with why_not() otherwise.
class SmallFs {
 public:
  explicit SmallFs(const std::string& size, const std::string& type = "tmpfs") {
    if (::geteuid() != 0) {
      why_not_ = "mounting a " + type + " needs root";
      return;
    }
    const std::string options = "size=" + size;
    if (::mount("sluice-small-fs", dir_.path().c_str(), type.c_str(), MS_NOSUID | MS_NODEV,
                options.c_str()) != 0) {
      why_not_ = "cannot mount a " + type + " here: " + std::strerror(errno);
      return;
    }
    mounted_ = true;
  }
  ~SmallFs() {
    if (mounted_) ::umount2(dir_.path().c_str(), MNT_DETACH);
  }
  SmallFs(const SmallFs&) = delete;
  SmallFs& operator=(const SmallFs&) = delete;

  bool mounted() const { return mounted_; }
  const std::string& why_not() const { return why_not_; }
  const std::filesystem::path& path() const { return dir_.path(); }

  // Writes the file `filler` until the filesystem is full; returns the bytes it took.
  // Removing that file frees them again.
  uint64_t fill() const {
    const int fd = ::open((dir_.path() / "filler").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0) return 0;
    const std::string chunk(4096, '\0');
    uint64_t written = 0;
    ssize_t n = 0;
    while ((n = ::write(fd, chunk.data(), chunk.size())) > 0) written += static_cast<uint64_t>(n);
    ::close(fd);
    return written;
  }

 private:
  TempDir dir_;
  bool mounted_ = false;
  std::string why_not_;
};

}  // namespace sluice::testing
