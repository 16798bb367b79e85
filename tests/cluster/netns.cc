#include "tests/cluster/netns.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

namespace sluice::testing {
namespace {

namespace fs = std::filesystem;

// Where `name` is on PATH, or empty.
std::string find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "";
  dirs += ":/usr/sbin:/sbin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    const size_t end = std::min(dirs.find(':', start), dirs.size());
    const std::string candidate = dirs.substr(start, end - start) + "/" + name;
    if (end > start && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return {};
}

struct Outcome {
  int exit_code = -1;
  std::string output;
};

// Runs argv to completion (killed after 30 s) in the network namespace `ns_fd` (when >= 0),
// whatever namespace the calling thread is in.
Outcome run(const std::vector<std::string>& args, int ns_fd) {
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    if (ns_fd >= 0 && ::setns(ns_fd, CLONE_NEWNET) != 0) std::_Exit(126);
    ::dup2(fds[1], STDOUT_FILENO);
    ::dup2(fds[1], STDERR_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    ::execv(argv[0], argv.data());
    std::_Exit(127);
  }
  ::close(fds[1]);
  std::atomic<bool> done{false};
  std::thread watchdog([&] {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!done && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!done) ::kill(pid, SIGKILL);
  });
  Outcome out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) out.output.append(buf, size_t(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  done = true;
  watchdog.join();
  if (WIFEXITED(status)) out.exit_code = WEXITSTATUS(status);
  return out;
}

std::string joined(const std::vector<std::string>& args) {
  std::string s;
  for (const auto& a : args) s += (s.empty() ? "" : " ") + a;
  return s;
}

const std::string& ip_binary() {
  static const std::string path = find_program("ip");
  return path;
}

const std::string& iptables_binary() {
  static const std::string path = find_program("iptables");
  return path;
}

// Labs alive in this process, removed at exit or std::terminate when their destructors do
// not run.
std::mutex registry_mu;
std::set<NetworkLab*>& registry() {
  static std::set<NetworkLab*> labs;
  return labs;
}

int open_own_namespace() {
  const int fd = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(std::string("open own namespace: ") + std::strerror(errno));
  return fd;
}

// Namespaces and root links of labs whose process is gone (a crashed or killed run).
void sweep_leftovers(int root_fd) {
  auto dead_tag = [](const std::string& name, size_t at) {
    size_t end = at;
    while (end < name.size() && std::isdigit(static_cast<unsigned char>(name[end]))) ++end;
    if (end == at || end - at > 9) return false;
    const pid_t pid = static_cast<pid_t>(std::stol(name.substr(at, end - at)));
    if (pid == ::getpid()) return false;
    if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
    // A killed test whose parent has not reaped it yet is a zombie: gone all the same.
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(stat, line);
    const size_t paren = line.rfind(')');
    return paren != std::string::npos && paren + 2 < line.size() &&
           (line[paren + 2] == 'Z' || line[paren + 2] == 'X');
  };
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/run/netns", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("sluice-sp", 0) == 0 && dead_tag(name, 9)) {
      run({ip_binary(), "netns", "del", name}, root_fd);
    }
  }
  const auto links = run({ip_binary(), "-o", "link", "show"}, root_fd).output;
  size_t at = 0;
  while ((at = links.find(": sp", at)) != std::string::npos) {
    at += 2;
    const size_t end = links.find_first_of("@:", at);
    if (end == std::string::npos) break;
    const std::string name = links.substr(at, end - at);
    if (name.size() > 3 && name.back() == 'r' && dead_tag(name, 2)) {
      run({ip_binary(), "link", "del", "dev", name}, root_fd);
    }
  }
}

void cleanup_registered() {
  std::set<NetworkLab*> left;
  {
    std::lock_guard lock(registry_mu);
    left.swap(registry());
  }
  for (NetworkLab* lab : left) lab->remove();
}

// Labs whose destructors did not run (std::exit, std::terminate) are removed all the same.
void install_cleanup_hooks() {
  static std::once_flag once;
  std::call_once(once, [] {
    std::atexit(cleanup_registered);
    static const std::terminate_handler previous = std::set_terminate([] {
      cleanup_registered();
      if (previous != nullptr) previous();
      std::abort();
    });
  });
}

}  // namespace

std::optional<std::string> NetworkLab::unavailable() {
  static const std::optional<std::string> reason = []() -> std::optional<std::string> {
    if (::geteuid() != 0) return "network namespaces and iptables need root";
    if (ip_binary().empty()) return "no `ip` (iproute2) on PATH";
    if (iptables_binary().empty()) return "no `iptables` on PATH";
    if (::access("/usr/bin/etcd", X_OK) != 0) return "no /usr/bin/etcd";
    const std::string ns = "sluice-sp" + std::to_string(::getpid()) + "probe";
    const auto added = run({ip_binary(), "netns", "add", ns}, -1);
    if (added.exit_code != 0) return "`ip netns add` refused: " + added.output;
    std::optional<std::string> why;
    const auto veth = run({ip_binary(), "-n", ns, "link", "add", "name", "probe0", "type", "veth",
                           "peer", "name", "probe1"},
                          -1);
    if (veth.exit_code != 0) why = "veth refused: " + veth.output;
    const auto rule = run({ip_binary(), "netns", "exec", ns, iptables_binary(), "-w", "5", "-A",
                           "OUTPUT", "-d", "10.213.0.1", "-j", "DROP"},
                          -1);
    if (!why && rule.exit_code != 0) why = "iptables refused in a namespace: " + rule.output;
    run({ip_binary(), "netns", "del", ns}, -1);
    return why;
  }();
  return reason;
}

NetworkLab::NetworkLab(const std::vector<std::string>& hosts) {
  static std::atomic<int> counter{0};
  tag_ = "sp" + std::to_string(::getpid()) + static_cast<char>('a' + counter++ % 26);
  hub_ = "sluice-" + tag_ + "-hub";
  root_ns_fd_ = open_own_namespace();
  install_cleanup_hooks();
  {
    std::lock_guard lock(registry_mu);
    registry().insert(this);
  }
  try {
    sweep_leftovers(root_ns_fd_);
    build(hosts);
  } catch (...) {
    {
      std::lock_guard lock(registry_mu);
      registry().erase(this);
    }
    remove();
    throw;
  }
}

NetworkLab::~NetworkLab() {
  {
    std::lock_guard lock(registry_mu);
    registry().erase(this);
  }
  remove();
}

void NetworkLab::build(const std::vector<std::string>& names) {
  auto must = [&](const std::vector<std::string>& args) {
    auto r = run(args, root_ns_fd_);
    if (r.exit_code != 0) {
      throw std::runtime_error("`" + joined(args) + "` failed: " + r.output);
    }
    return r.output;
  };
  const std::string& ip = ip_binary();
  const std::string root_link = tag_ + "r";
  // The subnet: one that no address or route of the machine mentions, chosen under a lock so
  // that two test processes starting together do not take the same one.
  {
    const int lock_fd =
        ::open("/run/lock/sluice-netns-test.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd >= 0) ::flock(lock_fd, LOCK_EX);
    struct Unlock {
      int fd;
      ~Unlock() {
        if (fd >= 0) ::close(fd);  // releases the lock
      }
    } unlock{lock_fd};
    const std::string in_use = must({ip, "-o", "addr", "show"}) +
                               must({ip, "-o", "route", "show", "table", "all"}) +
                               must({ip, "-o", "-6", "route", "show", "table", "all"});
    for (int i = 0; i < 254 && subnet_.empty(); ++i) {
      const int x = (::getpid() + i) % 254 + 1;
      const std::string candidate = "10.213." + std::to_string(x) + ".";
      if (in_use.find(candidate) == std::string::npos) subnet_ = candidate;
    }
    if (subnet_.empty()) throw std::runtime_error("no free 10.213.X.0/24 subnet");
    must({ip, "netns", "add", hub_});
    must({ip, "-n", hub_, "link", "add", "name", "br", "type", "bridge"});
    must({ip, "-n", hub_, "link", "set", "dev", "br", "up"});
    must({ip, "link", "add", "name", root_link, "type", "veth", "peer", "name", "port-root",
          "netns", hub_});
    must({ip, "-n", hub_, "link", "set", "dev", "port-root", "master", "br", "up"});
    must({ip, "addr", "add", subnet_ + "1/24", "dev", root_link});
    must({ip, "link", "set", "dev", root_link, "up"});
  }
  int next = 2;
  for (const auto& name : names) {
    Host h{name, "sluice-" + tag_ + "-" + name, subnet_ + std::to_string(next++)};
    must({ip, "netns", "add", h.ns});
    hosts_.push_back(h);
    must({ip, "-n", hub_, "link", "add", "name", "port-" + name, "type", "veth", "peer", "name",
          "veth-" + name, "netns", h.ns});
    must({ip, "-n", hub_, "link", "set", "dev", "port-" + name, "master", "br", "up"});
    must({ip, "-n", h.ns, "addr", "add", h.address + "/24", "dev", "veth-" + name});
    must({ip, "-n", h.ns, "link", "set", "dev", "veth-" + name, "up"});
    must({ip, "-n", h.ns, "link", "set", "dev", "lo", "up"});
  }
  // Before the first packet: every address goes through the lab's own links, from the root
  // namespace and from every host, and no host has a way out.
  std::vector<std::string> addresses = {subnet_ + "1"};
  for (const auto& h : hosts_) addresses.push_back(h.address);
  auto expect_dev = [&](const std::vector<std::string>& args, const std::string& dev) {
    const auto out = must(args);
    if (out.find(" dev " + dev + " ") == std::string::npos) {
      throw std::runtime_error("`" + joined(args) + "` does not go through " + dev + ": " + out);
    }
  };
  for (const auto& h : hosts_) expect_dev({ip, "-o", "route", "get", h.address}, root_link);
  for (const auto& h : hosts_) {
    for (const auto& a : addresses) {
      if (a != h.address) expect_dev({ip, "-n", h.ns, "-o", "route", "get", a}, "veth-" + h.name);
    }
    const auto routes = must({ip, "-n", h.ns, "-o", "route", "show", "table", "all"}) +
                        must({ip, "-n", h.ns, "-o", "-6", "route", "show", "table", "all"});
    if (routes.find("default") != std::string::npos) {
      throw std::runtime_error(h.ns + " has a default route: " + routes);
    }
  }
}

void NetworkLab::remove() {
  if (root_ns_fd_ < 0) return;
  // Deleting a namespace deletes its veth ends, whose peers go with them (the root link's
  // peer is in the hub), and its iptables rules. Processes still inside keep a namespace alive
  // until they exit: the tests stop theirs first.
  for (const auto& h : hosts_) run({ip_binary(), "netns", "del", h.ns}, root_ns_fd_);
  run({ip_binary(), "netns", "del", hub_}, root_ns_fd_);
  run({ip_binary(), "link", "del", "dev", tag_ + "r"}, root_ns_fd_);  // normally gone already
  hosts_.clear();
  ::close(root_ns_fd_);
  root_ns_fd_ = -1;
}

std::string NetworkLab::leftovers(const std::string& tag) {
  std::string found;
  for (const auto& args : {std::vector<std::string>{ip_binary(), "netns", "list"},
                           std::vector<std::string>{ip_binary(), "-o", "link", "show"}}) {
    const auto out = run(args, -1).output;
    size_t start = 0;
    while (start < out.size()) {
      const size_t end = std::min(out.find('\n', start), out.size());
      const std::string line = out.substr(start, end - start);
      if (line.find("sluice-" + tag + "-") != std::string::npos ||
          line.find(": " + tag + "r") != std::string::npos) {
        found += line + "\n";
      }
      start = end + 1;
    }
  }
  return found;
}

const NetworkLab::Host& NetworkLab::host(const std::string& name) const {
  for (const auto& h : hosts_) {
    if (h.name == name) return h;
  }
  throw std::out_of_range("no host " + name);
}

const std::string& NetworkLab::address(const std::string& name) const { return host(name).address; }

const std::string& NetworkLab::namespace_name(const std::string& name) const {
  return host(name).ns;
}

std::vector<std::string> NetworkLab::exec_prefix(const std::string& name) const {
  return {ip_binary(), "netns", "exec", host(name).ns};
}

void NetworkLab::cut(const std::string& a, const std::string& b) {
  const auto& from = host(a);
  const auto& to = host(b);
  for (const auto& rule : {std::vector<std::string>{"INPUT", "-s", to.address},
                           std::vector<std::string>{"OUTPUT", "-d", to.address}}) {
    std::vector<std::string> args = {ip_binary(),       "netns", "exec", from.ns,
                                     iptables_binary(), "-w",    "5",    "-A"};
    args.insert(args.end(), rule.begin(), rule.end());
    args.insert(args.end(), {"-j", "DROP"});
    auto r = run(args, root_ns_fd_);
    if (r.exit_code != 0) throw std::runtime_error("`" + joined(args) + "`: " + r.output);
  }
}

void NetworkLab::isolate(const std::string& name, const std::vector<std::string>& others) {
  for (const auto& other : others) cut(name, other);
}

void NetworkLab::heal() {
  for (const auto& h : hosts_) {
    const std::vector<std::string> args = {ip_binary(),       "netns", "exec", h.ns,
                                           iptables_binary(), "-w",    "5",    "-F"};
    auto r = run(args, root_ns_fd_);
    if (r.exit_code != 0) throw std::runtime_error("`" + joined(args) + "`: " + r.output);
  }
}

std::string NetworkLab::rules() const {
  std::string out;
  for (const auto& h : hosts_) {
    out +=
        h.name + ":\n" +
        run({ip_binary(), "netns", "exec", h.ns, iptables_binary(), "-w", "5", "-S"}, root_ns_fd_)
            .output;
  }
  return out;
}

ClientThreadNamespace::ClientThreadNamespace(const std::string& ns_name)
    : original_fd_(open_own_namespace()) {
  const int fd = ::open(("/run/netns/" + ns_name).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) {
    const std::string why = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    ::close(original_fd_);
    throw std::runtime_error("cannot enter " + ns_name + ": " + why);
  }
  ::close(fd);
}

ClientThreadNamespace::~ClientThreadNamespace() {
  if (::setns(original_fd_, CLONE_NEWNET) != 0) std::abort();  // never run on elsewhere
  ::close(original_fd_);
}

}  // namespace sluice::testing
