#pragma once

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "tests/temp_dir.h"

namespace sluice::testing {

// A tmpfs of a few megabytes mounted on a fresh temp directory, for tests of a full disk (or
// another in-memory file system, such as ramfs, which refuses O_DIRECT; or "ext4", made by
// mkfs.ext4 in an image file and mounted through a loop device); unmounted on destruction.
// Mounting needs root and is refused in many containers: tests check mounted() and skip with
// why_not() otherwise.
class SmallFs {
 public:
  // `size`: a number of bytes with a k or m suffix ("6m").
  explicit SmallFs(const std::string& size, const std::string& type = "tmpfs") {
    if (::geteuid() != 0) {
      why_not_ = "mounting a " + type + " needs root";
      return;
    }
    if (type == "ext4") {
      mount_image(size);
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
  // No root-reserved blocks, so that the broker (root in tests) sees the same full disk as
  // everyone; the loop device goes with the unmount (autoclear).
  void mount_image(const std::string& size) {
    const auto image = image_dir_.path() / "fs.img";
    {
      const int fd = ::open(image.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      const bool sized = fd >= 0 && ::ftruncate(fd, static_cast<off_t>(bytes(size))) == 0;
      if (fd >= 0) ::close(fd);
      if (!sized) {
        why_not_ = "cannot create an ext4 image: " + std::string(std::strerror(errno));
        return;
      }
    }
    const std::string quiet = " >/dev/null 2>&1";
    if (std::system(("mkfs.ext4 -q -F -m 0 " + image.string() + quiet).c_str()) != 0) {
      why_not_ = "mkfs.ext4 failed or is missing";
      return;
    }
    const std::string mount =
        "mount -o loop,nosuid,nodev " + image.string() + " " + dir_.path().string() + quiet;
    if (std::system(mount.c_str()) != 0) {
      why_not_ = "cannot mount an ext4 image through a loop device here";
      return;
    }
    mounted_ = true;
  }

  static uint64_t bytes(const std::string& size) {
    const uint64_t n = std::stoull(size);
    switch (size.back()) {
      case 'k':
        return n << 10;
      case 'm':
        return n << 20;
      default:
        return n;
    }
  }

  TempDir image_dir_;  // destroyed after dir_'s file system is unmounted
  TempDir dir_;
  bool mounted_ = false;
  std::string why_not_;
};

}  // namespace sluice::testing
