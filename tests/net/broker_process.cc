#include "tests/net/broker_process.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string_view>

#include "tests/net/http_client.h"

namespace sluice::testing {
namespace {

// The broker binary the tests start: the build's, or SLUICE_TEST_BINARY's (a long run, such
// as `make chaos`, keeps using the copy it started with while the tree is rebuilt).
std::string sluice_binary() {
  const char* other = std::getenv("SLUICE_TEST_BINARY");
  return other && *other ? other : SLUICE_BINARY;
}

// The first sanitizer report in a process's output, from the line where it starts: ASan's and
// LeakSanitizer's "ERROR: ...Sanitizer", UBSan's "runtime error:", TSan's "WARNING:
// ThreadSanitizer". Empty when there is none.
std::string sanitizer_report(std::string_view output) {
  static constexpr std::string_view kMarkers[] = {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                                                  "runtime error:", "WARNING: ThreadSanitizer"};
  size_t first = std::string_view::npos;
  for (const std::string_view marker : kMarkers) first = std::min(first, output.find(marker));
  if (first == std::string_view::npos) return {};
  const size_t line = output.rfind('\n', first);
  const size_t from = line == std::string_view::npos ? 0 : line + 1;
  return std::string(output.substr(from, 8000));
}

void fail_on_sanitizer_report(std::string_view what, std::string_view output) {
  const std::string report = sanitizer_report(output);
  if (!report.empty()) ADD_FAILURE() << what << " printed a sanitizer report:\n" << report;
}

}  // namespace

BrokerProcess::BrokerProcess(Options options) : options_(std::move(options)) {
  if (options_.data_dir.empty()) {
    owned_dir_ = std::make_unique<TempDir>();
    data_dir_ = owned_dir_->path();
  } else {
    data_dir_ = options_.data_dir;
  }
  try {
    start();
  } catch (...) {
    // The destructor does not run for a constructor that throws: stop the child and the
    // reader thread here, or the joinable thread would terminate the test binary.
    kill9();
    if (reader_.joinable()) reader_.join();
    throw;
  }
}

BrokerProcess::~BrokerProcess() {
  if (pid_ > 0) terminate();
  if (reader_.joinable()) reader_.join();
}

void BrokerProcess::start() {
  std::vector<std::string> args = {sluice_binary(), "serve",
                                   "--set",         "log.dirs=" + data_dir_.string(),
                                   "--set",         "listeners=http://" + options_.host + ":0",
                                   "--set",         "num.network.threads=2"};
  args.insert(args.begin(), options_.command_prefix.begin(), options_.command_prefix.end());
  for (const auto& s : options_.sets) {
    args.push_back("--set");
    args.push_back(s);
  }
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) throw std::runtime_error("pipe failed");
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    // Dies with the test: a test binary that aborts (a sanitizer report) leaves nothing running.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::dup2(pipe_fds[1], STDOUT_FILENO);
    ::dup2(pipe_fds[1], STDERR_FILENO);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    std::_Exit(127);
  }
  ::close(pipe_fds[1]);
  out_fd_ = pipe_fds[0];
  if (reader_.joinable()) reader_.join();
  {
    std::lock_guard lock(mu_);
    output_.clear();
    checked_ = false;
  }
  reader_ = std::thread([this, fd = out_fd_] {
    char buf[4096];
    while (true) {
      const ssize_t n = ::read(fd, buf, sizeof(buf));
      if (n <= 0) break;
      {
        std::lock_guard lock(mu_);
        output_.append(buf, static_cast<size_t>(n));
      }
      cv_.notify_all();
    }
    ::close(fd);
    cv_.notify_all();
  });
  wait_for_port();
  if (options_.wait_ready) wait_for_ready();
}

void BrokerProcess::wait_for_port() {
  // A plain search rather than std::regex: GCC 12 reports a false maybe-uninitialized in
  // <regex> under the asan preset's -O2, which -Werror turns into a build failure.
  const std::string listening = "listening on http://" + options_.host + ":";
  std::unique_lock lock(mu_);
  uint16_t port = 0;
  const bool found = cv_.wait_for(lock, std::chrono::seconds(30), [&] {
    const auto at = output_.find(listening);
    if (at == std::string::npos) return false;
    size_t i = at + listening.size();
    uint32_t value = 0;
    while (i < output_.size() && output_[i] >= '0' && output_[i] <= '9') {
      value = value * 10 + static_cast<uint32_t>(output_[i++] - '0');
    }
    if (i == output_.size() || value == 0 || value > 65535) return false;  // not whole yet
    port = static_cast<uint16_t>(value);
    return true;
  });
  if (!found) throw std::runtime_error("sluice did not start listening:\n" + output_);
  port_ = port;
}

void BrokerProcess::wait_for_ready() {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      const HttpTarget to{options_.host, port_, std::chrono::seconds(10)};
      if (http_request(to, "GET", "/readyz").status == 200) return;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  throw std::runtime_error("sluice did not become ready:\n" + output());
}

std::string BrokerProcess::output() const {
  std::lock_guard lock(mu_);
  return output_;
}

bool BrokerProcess::wait_for_output(std::string_view text, std::chrono::milliseconds limit) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, limit, [&] { return output_.find(text) != std::string::npos; });
}

int BrokerProcess::reap(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return -1;  // did not stop in time
}

int BrokerProcess::terminate() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  const int status = reap(std::chrono::seconds(20));
  if (reader_.joinable()) reader_.join();
  check_output();
  return status;
}

void BrokerProcess::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  reap(std::chrono::seconds(20));
  if (reader_.joinable()) reader_.join();
  check_output();
}

// Called once the reader has seen the end of the output: all of it is there.
void BrokerProcess::check_output() {
  std::lock_guard lock(mu_);
  if (checked_) return;
  checked_ = true;
  fail_on_sanitizer_report("the broker on port " + std::to_string(port_), output_);
}

void BrokerProcess::restart() {
  if (pid_ > 0) terminate();
  start();
}

CommandResult run_sluice(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
  std::vector<std::string> argv_strings{sluice_binary()};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) throw std::runtime_error("pipe failed");
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::dup2(pipe_fds[1], STDOUT_FILENO);
    ::dup2(pipe_fds[1], STDERR_FILENO);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    std::vector<char*> argv;
    for (auto& a : argv_strings) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    std::_Exit(127);
  }
  ::close(pipe_fds[1]);
  // A watchdog kills a command that hangs, which ends the read loop below.
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::thread watchdog([&] {
    std::unique_lock lock(mu);
    if (!cv.wait_for(lock, timeout, [&] { return done; })) ::kill(pid, SIGKILL);
  });
  CommandResult result;
  char buf[4096];
  for (ssize_t n; (n = ::read(pipe_fds[0], buf, sizeof(buf))) > 0;) {
    result.output.append(buf, static_cast<size_t>(n));
  }
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  {
    std::lock_guard lock(mu);
    done = true;
  }
  cv.notify_all();
  watchdog.join();
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  fail_on_sanitizer_report("sluice " + (args.empty() ? std::string() : args.front()),
                           result.output);
  return result;
}

}  // namespace sluice::testing
