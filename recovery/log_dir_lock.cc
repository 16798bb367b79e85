#include "recovery/log_dir_lock.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <string>
#include <system_error>

namespace sluice::recovery {
namespace {

namespace fs = std::filesystem;

// The PID written in an open lock file; 0 when it is empty or not a number.
pid_t read_pid(const File& file) {
  char buf[32] = {};
  const ssize_t n = ::pread(file.fd(), buf, sizeof(buf) - 1, 0);
  if (n <= 0) return 0;
  pid_t pid = 0;
  std::from_chars(buf, buf + n, pid);
  return pid;
}

std::string busy_message(const fs::path& log_dir, pid_t pid) {
  const std::string holder = pid > 0 ? fmt::format("process {}", pid) : "another process";
  return fmt::format(
      "log dir '{}' is in use by {}, which holds {}: another broker or `sluice "
      "recover` runs on it",
      log_dir.string(), holder, (log_dir / kLogDirLockFile).string());
}

}  // namespace

LogDirLocked::LogDirLocked(const fs::path& log_dir, pid_t holder)
    : std::runtime_error(busy_message(log_dir, holder)), log_dir_(log_dir), holder_(holder) {}

LogDirLock LogDirLock::acquire(const fs::path& log_dir) {
  const fs::path path = log_dir / kLogDirLockFile;
  auto file = File::open(path, O_RDWR | O_CREAT);
  if (!file) {
    throw std::system_error(file.error(), fmt::format("cannot open lock file '{}'", path.string()));
  }
  if (::flock(file->fd(), LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err == EWOULDBLOCK) throw LogDirLocked(log_dir, read_pid(*file));
    throw std::system_error(errno_code(err), fmt::format("cannot lock '{}'", path.string()));
  }
  // Only a holder writes; a reader in between sees the previous PID, none, or this one.
  const std::string pid = fmt::format("{}\n", ::getpid());
  Result<void> written = errno_code(EIO);
  if (::ftruncate(file->fd(), 0) != 0) {
    written = errno_code(errno);
  } else {
    written = file->pwrite_all(std::as_bytes(std::span(pid.data(), pid.size())), 0);
  }
  if (!written) {
    throw std::system_error(written.error(),
                            fmt::format("cannot write lock file '{}'", path.string()));
  }
  return LogDirLock(log_dir, std::move(*file));
}

std::optional<pid_t> log_dir_lock_holder(const fs::path& log_dir) {
  auto file = File::open(log_dir / kLogDirLockFile, O_RDONLY);
  if (!file) return std::nullopt;  // never locked, or unreadable: nothing to warn about
  // A shared lock conflicts only with the holder's exclusive one; it is released at once, so a
  // broker starting in that instant is the only one that could notice it.
  if (::flock(file->fd(), LOCK_SH | LOCK_NB) == 0) {
    ::flock(file->fd(), LOCK_UN);
    return std::nullopt;
  }
  return read_pid(*file);
}

}  // namespace sluice::recovery
