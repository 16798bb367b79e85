#include "tests/cluster/etcd_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "tests/net/http_client.h"

namespace sluice::testing {

uint16_t free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("bind failed");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

EtcdProcess::EtcdProcess(Options options)
    : options_(std::move(options)), dir_(std::make_unique<TempDir>()) {
  if (options_.host != "127.0.0.1") {  // its own network namespace: nothing else binds there
    client_port_ = 2379;
    peer_port_ = 2380;
    start();
    return;
  }
  // A port found free can be taken by another test before etcd binds it: try fresh ones.
  for (int attempt = 1;; ++attempt) {
    client_port_ = free_loopback_port();
    do {
      peer_port_ = free_loopback_port();
    } while (peer_port_ == client_port_);
    if (!options_.cert_file.empty()) {
      do {
        metrics_port_ = free_loopback_port();
      } while (metrics_port_ == client_port_ || metrics_port_ == peer_port_);
    }
    try {
      start();
      return;
    } catch (const std::exception&) {
      if (attempt == 3) throw;
      std::filesystem::remove_all(dir_->path() / "data");
    }
  }
}

EtcdProcess::~EtcdProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGCONT);
    stop();
  }
}

void EtcdProcess::start() {
  const std::string client = endpoint();
  const std::string peer = "http://" + options_.host + ":" + std::to_string(peer_port_);
  std::vector<std::string> args = {"/usr/bin/etcd",
                                   "--name=s1",
                                   "--data-dir=" + (dir_->path() / "data").string(),
                                   "--listen-client-urls=" + client,
                                   "--advertise-client-urls=" + client,
                                   "--listen-peer-urls=" + peer,
                                   "--initial-advertise-peer-urls=" + peer,
                                   "--initial-cluster=s1=" + peer,
                                   "--initial-cluster-state=new",
                                   "--initial-cluster-token=sluice-test",
                                   "--logger=zap",
                                   "--log-outputs=" + (dir_->path() / "etcd.log").string()};
  if (!options_.cert_file.empty()) {
    args.push_back("--cert-file=" + options_.cert_file);
    args.push_back("--key-file=" + options_.key_file);
    args.push_back("--listen-metrics-urls=http://" + options_.host + ":" +
                   std::to_string(metrics_port_));
    if (!options_.client_ca_file.empty()) {
      args.push_back("--trusted-ca-file=" + options_.client_ca_file);
      args.push_back("--client-cert-auth");
    }
  }
  args.insert(args.begin(), options_.command_prefix.begin(), options_.command_prefix.end());
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    // Dies with the test: a test binary that aborts (a sanitizer report) leaves nothing running.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    const int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, STDIN_FILENO);
    ::dup2(null, STDOUT_FILENO);
    ::dup2(null, STDERR_FILENO);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    std::_Exit(127);
  }
  wait_healthy();
}

void EtcdProcess::wait_healthy() {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      std::ifstream log(dir_->path() / "etcd.log");
      std::stringstream text;
      text << log.rdbuf();
      throw std::runtime_error("etcd exited at start-up:\n" + text.str());
    }
    try {
      const HttpTarget to{options_.host, options_.cert_file.empty() ? client_port_ : metrics_port_,
                          std::chrono::seconds(10)};
      auto r = http_request(to, "GET", "/health");
      if (r.status == 200 && r.body.find("\"true\"") != std::string::npos) return;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill9();
  throw std::runtime_error("etcd did not become healthy within 30 s");
}

void EtcdProcess::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

void EtcdProcess::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill9();
}

void EtcdProcess::pause() {
  if (pid_ > 0) ::kill(pid_, SIGSTOP);
}

void EtcdProcess::resume() {
  if (pid_ > 0) ::kill(pid_, SIGCONT);
}

}  // namespace sluice::testing
