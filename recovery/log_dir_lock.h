#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string_view>

#include "common/file.h"
#include "segment/layout.h"

namespace sluice::recovery {

// The lock file in each log dir (segment/layout.h); it stays behind after a stop, like Kafka's.
using segment::kLogDirLockFile;

// Thrown when another process (or another LogDirLock) holds a log dir's lock. The message
// names the dir and the holder's PID.
class LogDirLocked : public std::runtime_error {
 public:
  LogDirLocked(const std::filesystem::path& log_dir, pid_t holder);
  const std::filesystem::path& log_dir() const { return log_dir_; }
  pid_t holder() const { return holder_; }  // 0 when it had not written its PID yet

 private:
  std::filesystem::path log_dir_;
  pid_t holder_;
};

// An exclusive lock on one log dir, so two brokers (or a broker and `sluice recover`) never
// write the same files: flock(LOCK_EX | LOCK_NB) on <log_dir>/.lock, which then holds the
// holder's PID for the message the next one prints. The kernel drops the lock when the holder
// exits, however it exits, so a stale .lock file never blocks anyone. Held until the object is
// destroyed; move-only.
class LogDirLock {
 public:
  // Creates <log_dir>/.lock if needed, locks it and writes this process's PID into it. Throws
  // LogDirLocked when someone else holds it, std::system_error on an I/O error.
  static LogDirLock acquire(const std::filesystem::path& log_dir);

  const std::filesystem::path& log_dir() const { return log_dir_; }

 private:
  LogDirLock(std::filesystem::path log_dir, File file)
      : log_dir_(std::move(log_dir)), file_(std::move(file)) {}

  std::filesystem::path log_dir_;
  File file_;  // the lock lives as long as this descriptor
};

// Who holds log_dir's lock, without taking it and without creating anything (for read-only
// tools): nullopt when nobody does, else the holder's PID (0 when it has not written it yet).
std::optional<pid_t> log_dir_lock_holder(const std::filesystem::path& log_dir);

}  // namespace sluice::recovery
