#pragma once

// A private network for the partition tests: each host is a network namespace the test makes,
// joined by a veth pair to a bridge of its own; partitions are iptables DROP rules inside the
// hosts' namespaces.
//
// Nothing leaves the machine:
// - the subnet is 10.213.X.0/24 with an X no address or route of the machine uses;
// - the bridge lives in a hub namespace of its own (so the root namespace's bridge netfilter
//   and firewall, which a Docker engine rewrites, neither see nor filter its frames); the root
//   namespace gets a veth into the hub with the subnet's .1, so every address is on-link there
//   too, and no namespace has a default route;
// - before anything is started, `ip route get` must name the lab's own veth for every address,
//   in the root namespace and in every host's (the constructor throws otherwise);
// - clients run inside a host namespace (ClientThreadNamespace), never from the root one.
//
// Names carry a per-lab tag, "sp<pid><letter>": the namespaces are sluice-<tag>-<host> and
// sluice-<tag>-hub, the one link in the root namespace is <tag>r (the others, veth-<host> and
// port-<host>, live inside the lab's namespaces), so two test processes never collide and a
// leftover is easy to find. The destructor deletes the namespaces, which removes every veth and
// iptables rule with them (also at exit or std::terminate when the destructor does not run);
// the next lab removes those of a run whose process is gone (killed by a timeout).
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sluice::testing {

class NetworkLab {
 public:
  // Why a lab cannot be made here (not root, no `ip` or `iptables`, namespaces or iptables
  // refused), or nullopt. Checked by making a throwaway namespace with one rule.
  static std::optional<std::string> unavailable();

  // Hosts named e.g. "b1", "etcd", "client" (at most 4 characters each), addresses .2 upwards.
  explicit NetworkLab(const std::vector<std::string>& hosts);
  ~NetworkLab();
  NetworkLab(const NetworkLab&) = delete;
  NetworkLab& operator=(const NetworkLab&) = delete;

  const std::string& tag() const { return tag_; }
  // What is left of the lab `tag` in `ip netns list` and `ip -o link` (empty when nothing).
  static std::string leftovers(const std::string& tag);

  const std::string& address(const std::string& host) const;
  const std::string& namespace_name(const std::string& host) const;
  // {"ip", "netns", "exec", <host's namespace>}: runs a command inside the host.
  std::vector<std::string> exec_prefix(const std::string& host) const;

  // Drops every packet between hosts a and b, both ways (rules in a's namespace).
  void cut(const std::string& a, const std::string& b);
  // Cuts `host` from each of `others`.
  void isolate(const std::string& host, const std::vector<std::string>& others);
  // Removes every rule: all hosts talk again.
  void heal();
  // The rules in every host's namespace (for failure messages).
  std::string rules() const;
  // Deletes the namespaces now (the destructor does it otherwise); stop the processes inside
  // first. Idempotent.
  void remove();

 private:
  struct Host {
    std::string name;
    std::string ns;
    std::string address;
  };
  const Host& host(const std::string& name) const;
  void build(const std::vector<std::string>& hosts);

  std::string tag_;
  std::string subnet_;  // "10.213.X."
  std::string hub_;
  int root_ns_fd_ = -1;  // commands run there, whichever namespace the calling thread is in
  std::vector<Host> hosts_;
};

// Moves the calling thread into a namespace for its lifetime (setns(CLONE_NEWNET) is per
// thread; threads it starts meanwhile start there too), and back to the original one after.
class ClientThreadNamespace {
 public:
  explicit ClientThreadNamespace(const std::string& ns_name);
  ~ClientThreadNamespace();
  ClientThreadNamespace(const ClientThreadNamespace&) = delete;
  ClientThreadNamespace& operator=(const ClientThreadNamespace&) = delete;

 private:
  int original_fd_ = -1;
};

}  // namespace sluice::testing
