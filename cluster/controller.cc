// The controller's duties (docs/CLUSTER.md, "Controller"): run by the broker that won the
// election, on its node's thread, after every change of the cluster's keys. Every write is a
// transaction that also compares the controller's own election key, so a deposed controller
// writes nothing, and the partition key's revision, so it never overwrites a state it did not
// read.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <utility>

#include "cluster/node.h"

namespace sluice::cluster {
namespace {

bool registered(const ClusterView& view, int32_t broker) { return view.brokers.contains(broker); }

// Whether in-sync member `member` may lead: it is registered, and its place in the ISR was
// given to the data it holds now. A place given under a broker epoch at or below the revision
// its storage was created at was given to data its directories no longer hold (they were
// wiped): it becomes electable again once a leader has taken it back into the ISR. The place
// of a partition created while none of its replicas was alive (epoch 0) held nothing.
bool may_lead(const ClusterView& view, const std::pair<int32_t, int64_t>& member) {
  auto b = view.brokers.find(member.first);
  if (b == view.brokers.end()) return false;
  return member.second == 0 || member.second > b->second.registration.storage_revision;
}

// The state a partition should have now, or nullopt when `current` is right as it is.
// With `rebalance`, a partition whose preferred (first) replica is alive and in sync but not
// leading moves back to it (Kafka's auto.leader.rebalance.enable); never to a replica outside
// the ISR.
// With `unclean` (unclean.leader.election.enable), a partition none of whose in-sync replicas
// is alive is given to the first live replica, which alone is then in sync: it comes back at
// the cost of what only the others held.
std::optional<PartitionState> next_state(const ClusterView& view, const TopicAssignment& topic,
                                         const std::vector<int32_t>& replicas,
                                         const PartitionState* current, bool rebalance,
                                         bool unclean) {
  PartitionState next;
  next.topic_id = topic.id;
  if (!current || current->topic_id != topic.id) {
    // A new partition: every registered replica is in sync (they are all empty), the first
    // leads. The ISR is never empty: with no replica alive it holds the preferred one.
    for (int32_t b : replicas) {
      if (registered(view, b)) next.isr.emplace_back(b, view.brokers.at(b).epoch);
    }
    if (next.isr.empty()) next.isr.emplace_back(replicas.front(), 0);
    next.leader = registered(view, next.isr.front().first) ? next.isr.front().first : -1;
    next.leader_epoch = current ? current->leader_epoch + 1 : 0;
    return next;
  }
  // Brokers that are gone leave the ISR, but its last member stays: with unclean election off,
  // only it may lead again.
  for (const auto& member : current->isr) {
    if (registered(view, member.first)) next.isr.push_back(member);
  }
  if (next.isr.empty()) next.isr.push_back(current->isr.back());
  auto in_isr = [&](int32_t b) {
    return std::find_if(next.isr.begin(), next.isr.end(),
                        [&](const auto& m) { return m.first == b; });
  };
  const bool leader_ok = current->leader >= 0 && in_isr(current->leader) != next.isr.end() &&
                         may_lead(view, *in_isr(current->leader));
  next.leader = current->leader;
  if (!leader_ok) {
    next.leader = -1;
    for (int32_t b : replicas) {  // the first in assignment order that may lead
      auto member = in_isr(b);
      if (member != next.isr.end() && may_lead(view, *member)) {
        next.leader = b;
        break;
      }
    }
  }
  if (next.leader < 0 && unclean) {
    for (int32_t b : replicas) {
      if (!registered(view, b)) continue;
      next.leader = b;
      next.isr = {{b, view.brokers.at(b).epoch}};
      break;
    }
  }
  if (rebalance && next.leader >= 0 && replicas.front() != next.leader &&
      in_isr(replicas.front()) != next.isr.end() && may_lead(view, *in_isr(replicas.front()))) {
    next.leader = replicas.front();
  }
  // A member that came back under a new registration is known by its new broker epoch.
  for (auto& member : next.isr) {
    if (member.first == next.leader) member.second = view.brokers.at(next.leader).epoch;
  }
  next.leader_epoch = current->leader_epoch + (next.leader != current->leader ? 1 : 0);
  if (next.leader == current->leader && next.leader_epoch == current->leader_epoch &&
      next.isr == current->isr) {
    return std::nullopt;
  }
  return next;
}

}  // namespace

void ClusterNode::schedule_controller() {
  if (controller_running_) {
    controller_dirty_ = true;
    return;
  }
  controller_running_ = true;
  asio::co_spawn(io_, controller_pass(), asio::detached);
}

asio::awaitable<void> ClusterNode::controller_pass() {
  do {
    controller_dirty_ = false;
    const bool rebalance = std::exchange(rebalance_due_, false);
    bool failed = false;
    auto view = this->view();
    if (view->controller != options_.broker_id || fenced() ||
        stopping_.load(std::memory_order_acquire)) {
      break;
    }
    const Compare still_controller{view->controller_key,
                                   Compare::Target::create,
                                   Compare::Op::equal,
                                   view->controller_epoch,
                                   {}};
    for (const auto& [name, topic] : view->topics) {
      // The topic's configs were validated when they were set; ones that do not parse now (a
      // hand-edited key) leave the broker's default.
      const auto config = config::try_apply_topic_overrides(options_.topic_defaults, topic.configs);
      const bool unclean = config ? config->unclean_leader_election_enable
                                  : options_.topic_defaults.unclean_leader_election_enable;
      for (int32_t p = 0; p < topic.partitions(); ++p) {
        const PartitionState* current = view->partition(name, p);
        auto next = next_state(*view, topic, topic.replicas[static_cast<size_t>(p)], current,
                               rebalance, unclean);
        if (!next) continue;
        const std::string key = layout_.partition(name, p);
        Txn txn;
        txn.compare.push_back(still_controller);
        txn.compare.push_back(
            current
                ? Compare{key, Compare::Target::mod, Compare::Op::equal, current->mod_revision, {}}
                : Compare{key, Compare::Target::create, Compare::Op::equal, 0, {}});
        txn.success.push_back(TxnOp::put(key, to_json(*next)));
        auto answer = co_await client_->txn(txn);
        if (!answer) {
          spdlog::warn("controller: {}-{}: {}", name, p, answer.error().message());
          failed = true;
          continue;
        }
        if (!answer->succeeded) continue;  // another state or another controller: next view
        if (current && current->topic_id == next->topic_id && next->leader >= 0 &&
            !current->in_isr(next->leader)) {
          spdlog::warn(
              "controller: unclean election: broker {} leads {}-{} (epoch {}) without "
              "having been in sync; records only the former in-sync replicas held are "
              "lost",
              next->leader, name, p, next->leader_epoch);
        }
        if (!current || current->leader != next->leader) {
          std::vector<int32_t> in_sync;
          for (const auto& member : next->isr) in_sync.push_back(member.first);
          spdlog::info("controller: {}-{} leader {} (epoch {}), in sync [{}]", name, p,
                       next->leader, next->leader_epoch, fmt::join(in_sync, ","));
        }
      }
    }
    // States of partitions whose topic is gone (or shrank).
    for (const auto& [tp, state] : view->partitions) {
      auto topic = view->topics.find(tp.first);
      if (topic != view->topics.end() && tp.second < topic->second.partitions() &&
          topic->second.id == state.topic_id) {
        continue;
      }
      const std::string key = layout_.partition(tp.first, tp.second);
      Txn txn;
      txn.compare.push_back(still_controller);
      txn.compare.push_back(
          {key, Compare::Target::mod, Compare::Op::equal, state.mod_revision, {}});
      txn.success.push_back(TxnOp::del(key));
      if (!co_await client_->txn(txn)) failed = true;
    }
    if (failed) {
      // etcd did not answer: try again shortly, not in a tight loop.
      asio::steady_timer timer(io_, std::chrono::milliseconds(200));
      co_await timer.async_wait(asio::use_awaitable);
      controller_dirty_ = true;
    }
  } while (controller_dirty_);
  controller_running_ = false;
}

}  // namespace sluice::cluster
