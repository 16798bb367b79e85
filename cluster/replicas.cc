#include "cluster/replicas.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "broker/errors.h"
#include "cluster/fetch_answer.h"
#include "common/await_completion.h"
#include "common/clock.h"
#include "common/http_url.h"
#include "net/http/client_stream.h"
#include "recovery/quarantine.h"
#include "segment/batch.h"

namespace sluice::cluster {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

bool contains(const std::vector<int32_t>& v, int32_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

std::vector<int32_t> ids(const std::vector<std::pair<int32_t, int64_t>>& isr) {
  std::vector<int32_t> out;
  for (const auto& m : isr) out.push_back(m.first);
  return out;
}

// Waits for the group committer to make everything appended to `log` so far durable.
asio::awaitable<std::error_code> flush_through(broker::GroupCommitter& committer,
                                               broker::PartitionLog& log) {
  auto start = [&](auto done) { committer.request(log, done); };
  co_return co_await await_completion<std::error_code>(start);
}

}  // namespace

// One followed partition: its log and the leader it fetches from (which a new view changes).
struct ReplicaManager::Following {
  std::shared_ptr<broker::PartitionLog> log;
  std::mutex mu;
  int32_t leader = -1;  // guarded by mu
  std::string url;      // guarded by mu
  int32_t epoch = 0;    // guarded by mu
  std::atomic<bool> stop{false};
};

ReplicaManager::ReplicaManager(ClusterNode& node, broker::Broker& broker, Options options)
    : node_(node), broker_(broker), options_(std::move(options)) {}

ReplicaManager::~ReplicaManager() { stop(); }

void ReplicaManager::start() {
  work_.emplace(io_.get_executor());
  asio::co_spawn(io_, tick_loop(), asio::detached);
  thread_ = std::thread([this] { io_.run(); });
}

void ReplicaManager::stop() {
  if (stopping_.exchange(true)) return;
  std::vector<Done> failed;
  {
    std::lock_guard lock(mu_);
    for (auto& [key, f] : following_) f->stop = true;
    following_.clear();
    for (auto& [key, l] : leading_) {
      for (auto& w : l->waiters) failed.push_back(std::move(w.done));
    }
    leading_.clear();
  }
  for (auto& done : failed) done(broker::Errc::not_confirmed);
  if (thread_.joinable()) {
    asio::post(io_, [this] {
      work_.reset();
      io_.stop();
    });
    thread_.join();
  }
}

ReplicaManager::Leading* ReplicaManager::leading(const broker::PartitionLog& log) {
  auto it = leading_.find(Key{log.topic(), log.partition()});
  if (it == leading_.end() || it->second->log.get() != &log) return nullptr;
  return it->second.get();
}

const ReplicaManager::Leading* ReplicaManager::leading(const broker::PartitionLog& log) const {
  return const_cast<ReplicaManager*>(this)->leading(log);
}

int32_t ReplicaManager::min_isr(const Leading& l) const {
  return effective_min_isr(l.log->config()->min_insync_replicas, l.replicas.size());
}

void ReplicaManager::apply(std::shared_ptr<const ClusterView> view) {
  if (stopping_.load(std::memory_order_acquire)) return;
  const int32_t self = broker_.config().broker_id;
  const bool fenced = node_.fenced();
  std::vector<Done> failed;
  std::vector<std::shared_ptr<broker::PartitionLog>> new_leaders;
  std::vector<std::shared_ptr<Following>> new_followers;
  {
    std::lock_guard lock(mu_);
    view_ = view;
    std::set<Key> leading_now;
    std::set<Key> following_now;
    for (const auto& [key, state] : view->partitions) {
      auto topic = view->topics.find(key.first);
      if (topic == view->topics.end() || key.second >= topic->second.partitions() ||
          topic->second.id != state.topic_id) {
        continue;
      }
      const auto& replicas = topic->second.replicas[static_cast<size_t>(key.second)];
      auto log = broker_.topics().partition(key.first, key.second);
      if (!log) continue;
      (*log)->track_high_watermark();
      if (state.leader == self && !fenced) {
        auto& l = leading_[key];
        if (!l || l->epoch != state.leader_epoch || l->log != *log) {
          if (l) {
            for (auto& w : l->waiters) failed.push_back(std::move(w.done));
          }
          l = std::make_unique<Leading>();
          l->log = *log;
          l->epoch = state.leader_epoch;
          l->since = Clock::now();
          const auto entries = (*log)->epochs().entries();
          l->epoch_start = !entries.empty() && entries.back().epoch == state.leader_epoch
                               ? entries.back().start_offset
                               : (*log)->end_offset().value;
          new_leaders.push_back(*log);
        }
        l->replicas = replicas;
        // A change sent earlier is settled once the partition's state has moved on: it either
        // made this state, or compared an older revision and was refused. Followers that were
        // joining are then in this ISR, or not in the committed one.
        if (l->state.mod_revision != state.mod_revision) {
          l->isr_change_pending = false;
          l->change_unsettled = false;
          l->joining.clear();
        }
        l->state = state;
        leading_now.insert(key);
        continue;
      }
      if (state.leader >= 0 && state.leader != self && contains(replicas, self) &&
          view->brokers.contains(state.leader)) {
        auto& f = following_[key];
        if (!f || f->log != *log) {
          if (f) f->stop = true;
          f = std::make_shared<Following>();
          f->log = *log;
          new_followers.push_back(f);
        }
        std::lock_guard target(f->mu);
        if (f->leader != state.leader || f->epoch != state.leader_epoch) {
          spdlog::info("following {}-{} from broker {} at epoch {}", key.first, key.second,
                       state.leader, state.leader_epoch);
        }
        f->leader = state.leader;
        f->url = view->brokers.at(state.leader).registration.url;
        f->epoch = state.leader_epoch;
        following_now.insert(key);
      }
    }
    for (auto it = leading_.begin(); it != leading_.end();) {
      if (leading_now.contains(it->first)) {
        ++it;
        continue;
      }
      spdlog::info("no longer leading {}-{}", it->first.first, it->first.second);
      for (auto& w : it->second->waiters) failed.push_back(std::move(w.done));
      it = leading_.erase(it);
    }
    for (auto it = following_.begin(); it != following_.end();) {
      if (following_now.contains(it->first)) {
        ++it;
        continue;
      }
      it->second->stop = true;
      it = following_.erase(it);
    }
  }
  for (auto& done : failed) done(broker::Errc::not_confirmed);
  // A new leader's own durable end is where its high watermark starts from.
  for (auto& log : new_leaders) {
    broker_.committer().request(*log, [this, log](std::error_code) { flushed(*log); });
  }
  for (auto& f : new_followers) asio::co_spawn(io_, follow(f), asio::detached);
}

void ReplicaManager::advance(Leading& l, std::vector<std::pair<Done, std::error_code>>& ready) {
  if (node_.fenced()) return;
  auto& log = *l.log;
  const int32_t self = broker_.config().broker_id;
  const bool interval = broker_.config().log_flush_policy == config::FlushPolicy::interval;
  // Frozen while the committed ISR is below its minimum (Kafka's KAFKA-15583).
  if (static_cast<int32_t>(l.state.isr.size()) < min_isr(l)) return;
  int64_t hw = interval ? log.end_offset().value : log.flushed_offset().value;
  auto count = [&](int32_t member, int64_t broker_epoch) {
    if (member == self) return;
    auto p = l.followers.find(member);
    if (p == l.followers.end() || p->second.epoch != l.epoch ||
        (broker_epoch >= 0 && p->second.broker_epoch != broker_epoch)) {
      hw = -1;  // not heard from in this epoch: nothing can be counted yet
      return;
    }
    hw = std::min(hw, interval ? p->second.fetch_offset : p->second.flushed);
  };
  for (const auto& [member, broker_epoch] : l.state.isr) count(member, broker_epoch);
  for (int32_t member : l.joining) count(member, -1);
  if (hw < 0) return;
  if (log.advance_high_watermark(Offset{hw})) notify(log);
  const int64_t now_hw = log.high_watermark().value;
  for (auto it = l.waiters.begin(); it != l.waiters.end();) {
    if (it->end <= now_hw) {
      ready.emplace_back(std::move(it->done), std::error_code{});
      it = l.waiters.erase(it);
    } else {
      ++it;
    }
  }
}

void ReplicaManager::change_isr(Leading& l, std::vector<std::pair<int32_t, int64_t>> isr) {
  l.isr_change_pending = true;
  l.change_unsettled = false;
  l.change = std::move(isr);
  l.change_sent = Clock::now();
  PartitionState next = l.state;
  next.isr = l.change;
  const std::string key = node_.layout().partition(l.log->topic(), l.log->partition());
  Txn txn;
  txn.compare.push_back({key, Compare::Target::mod, Compare::Op::equal, l.state.mod_revision, {}});
  txn.success.push_back(TxnOp::put(key, to_json(next)));
  spdlog::info("{}-{}: in-sync replicas [{}] -> [{}]", l.log->topic(), l.log->partition(),
               fmt::join(ids(l.state.isr), ","), fmt::join(ids(next.isr), ","));
  const Key k{l.log->topic(), l.log->partition()};
  const int32_t epoch = l.epoch;
  const int64_t revision = l.state.mod_revision;
  node_.txn_async(std::move(txn), [this, k, epoch, revision](Result<TxnAnswer> answer) {
    if (!answer || !answer->succeeded) {
      spdlog::warn("{}-{}: in-sync replica change not committed: {}", k.first, k.second,
                   answer ? "the partition changed meanwhile" : answer.error().message());
    }
    std::lock_guard lock(mu_);
    auto it = leading_.find(k);
    if (it == leading_.end() || it->second->epoch != epoch) return;
    Leading& sent = *it->second;
    if (!sent.isr_change_pending || sent.state.mod_revision != revision) return;  // settled
    // Applied, or refused because the partition changed: the watch brings the state that
    // settles it (apply()). No answer: it may or may not have been applied; tick() sends it
    // again until etcd says which.
    if (!answer) sent.change_unsettled = true;
  });
}

void ReplicaManager::follower_fetched(broker::PartitionLog& log, const FetchReport& report) {
  std::vector<std::pair<Done, std::error_code>> ready;
  {
    std::lock_guard lock(mu_);
    Leading* l = leading(log);
    if (l == nullptr || report.leader_epoch != l->epoch || !contains(l->replicas, report.replica) ||
        report.replica == broker_.config().broker_id) {
      return;
    }
    const auto now = Clock::now();
    auto [it, inserted] = l->followers.try_emplace(report.replica);
    auto& p = it->second;
    if (inserted) p.caught_up = l->since;
    const int64_t leader_end = log.end_offset().value;
    if (report.fetch_offset.value >= leader_end) {
      p.caught_up = now;
    } else if (p.end_at_last_fetch >= 0 && report.fetch_offset.value >= p.end_at_last_fetch) {
      p.caught_up = std::max(p.caught_up, p.last_fetch);
    }
    p.end_at_last_fetch = leader_end;
    p.last_fetch = now;
    p.broker_epoch = report.broker_epoch;
    p.epoch = report.leader_epoch;
    p.fetch_offset = report.fetch_offset.value;
    p.flushed = std::min(report.flushed.value, report.fetch_offset.value);
    // A follower outside the ISR joins once it has everything up to the high watermark and
    // this epoch's start, under its current registration (Kafka's KAFKA-7128, KIP-903).
    if (!l->state.in_isr(report.replica) && !l->joining.contains(report.replica) &&
        !l->isr_change_pending && view_) {
      auto b = view_->brokers.find(report.replica);
      if (b != view_->brokers.end() && b->second.epoch == report.broker_epoch &&
          p.fetch_offset >= log.high_watermark().value && p.fetch_offset >= l->epoch_start) {
        l->joining.insert(report.replica);
        auto isr = l->state.isr;
        isr.emplace_back(report.replica, report.broker_epoch);
        change_isr(*l, std::move(isr));
      }
    }
    advance(*l, ready);
  }
  for (auto& [done, ec] : ready) done(ec);
  // The leader's own durable end bounds the high watermark: once followers hold more than it,
  // flush (acks=all producers asked already; this is for acks=0/1 records).
  if (log.flushed_offset() < report.flushed &&
      broker_.config().log_flush_policy == config::FlushPolicy::always) {
    broker_.committer().request(log, [](std::error_code) {});
  }
}

void ReplicaManager::flushed(broker::PartitionLog& log) {
  std::vector<std::pair<Done, std::error_code>> ready;
  {
    std::lock_guard lock(mu_);
    if (Leading* l = leading(log)) advance(*l, ready);
  }
  for (auto& [done, ec] : ready) done(ec);
}

bool ReplicaManager::serves(const broker::PartitionLog& log, int32_t epoch, bool reads) const {
  std::lock_guard lock(mu_);
  const Leading* l = leading(log);
  return l != nullptr && l->epoch == epoch &&
         (!reads || log.high_watermark().value >= l->epoch_start);
}

std::string ReplicaManager::describe_isr(const broker::PartitionLog& log) const {
  std::lock_guard lock(mu_);
  const Leading* l = leading(log);
  if (l == nullptr)
    return fmt::format("{}-{}: not led by this broker", log.topic(), log.partition());
  return fmt::format("{}-{}: ISR [{}], min.insync.replicas {}", log.topic(), log.partition(),
                     fmt::join(ids(l->state.isr), ","), min_isr(*l));
}

std::error_code ReplicaManager::admit(const broker::PartitionLog& log) {
  if (!log.tracks_high_watermark()) return {};  // a local topic: standalone rules
  std::lock_guard lock(mu_);
  const Leading* l = leading(log);
  if (l == nullptr || node_.fenced()) return broker::Errc::not_leader;
  if (static_cast<int32_t>(l->state.isr.size()) < min_isr(*l)) {
    return broker::Errc::not_enough_replicas;
  }
  return {};
}

void ReplicaManager::confirm(broker::PartitionLog& log, Offset end, Done done) {
  if (!log.tracks_high_watermark()) {
    done({});
    return;
  }
  std::vector<std::pair<Done, std::error_code>> ready;
  {
    std::lock_guard lock(mu_);
    Leading* l = leading(log);
    if (l == nullptr || stopping_.load(std::memory_order_acquire)) {
      ready.emplace_back(std::move(done), broker::Errc::not_confirmed);
    } else {
      l->waiters.push_back(
          {end.value, Clock::now() + std::chrono::milliseconds(broker_.config().request_timeout_ms),
           std::move(done)});
      advance(*l, ready);
    }
  }
  for (auto& [d, ec] : ready) d(ec);
}

asio::awaitable<void> ReplicaManager::tick_loop() {
  asio::steady_timer timer(io_);
  while (!stopping_.load(std::memory_order_acquire)) {
    timer.expires_after(std::chrono::milliseconds(100));
    co_await timer.async_wait(kNoThrow);
    tick();
  }
}

void ReplicaManager::tick() {
  const auto now = Clock::now();
  const auto lag = std::chrono::milliseconds(broker_.config().replica_lag_time_max_ms);
  const bool check_lag = now - last_lag_check_ >= lag / 2;
  if (check_lag) last_lag_check_ = now;
  const bool fenced = node_.fenced();
  std::vector<std::pair<Done, std::error_code>> ready;
  std::vector<std::shared_ptr<broker::PartitionLog>> unflushed;
  {
    std::lock_guard lock(mu_);
    const int32_t self = broker_.config().broker_id;
    for (auto& [key, l] : leading_) {
      // A fenced broker may have lost its leadership without knowing: nothing it holds can be
      // confirmed any more.
      for (auto it = l->waiters.begin(); it != l->waiters.end();) {
        if (fenced || it->deadline <= now) {
          ready.emplace_back(std::move(it->done), broker::Errc::not_confirmed);
          it = l->waiters.erase(it);
        } else {
          ++it;
        }
      }
      // A change whose answer was lost goes again, the same, compared with the same revision:
      // etcd either applies it now or refuses it because it was applied (or overtaken), and
      // the view then settles it.
      if (l->isr_change_pending && l->change_unsettled && !fenced &&
          now - l->change_sent >= std::chrono::seconds(1)) {
        change_isr(*l, l->change);
        continue;
      }
      if (!check_lag || fenced || l->isr_change_pending) continue;
      // Followers not caught up within replica.lag.time.max.ms leave the ISR, and so does a
      // member that fetches under another broker epoch than the one it joined with: it came
      // back under a new registration (a restart, a lost lease) that the controller did not
      // see it without, and its old place would hold the high watermark back for good
      // (advance() counts only the registration that joined). It rejoins, under its new
      // broker epoch, once it has caught up.
      std::vector<std::pair<int32_t, int64_t>> kept;
      for (const auto& member : l->state.isr) {
        if (member.first != self) {
          auto p = l->followers.find(member.first);
          const auto caught_up = p == l->followers.end() ? l->since : p->second.caught_up;
          if (now - caught_up > lag) continue;
          if (p != l->followers.end() && p->second.broker_epoch >= 0 &&
              p->second.broker_epoch != member.second) {
            continue;
          }
        }
        kept.push_back(member);
      }
      if (kept.size() != l->state.isr.size() && !kept.empty()) change_isr(*l, std::move(kept));
    }
    for (auto& [key, l] : leading_) {
      if (l->log->flushed_offset() < l->log->end_offset()) unflushed.push_back(l->log);
    }
  }
  for (auto& [done, ec] : ready) done(ec);
  // Records appended without acks=all still need the leader's flush to become visible.
  if (broker_.config().log_flush_policy == config::FlushPolicy::always) {
    for (auto& log : unflushed) broker_.committer().request(*log, [](std::error_code) {});
  }
}

asio::awaitable<void> ReplicaManager::follow(std::shared_ptr<Following> f) {
  auto& log = *f->log;
  const std::string name = fmt::format("{}-{}", log.topic(), log.partition());
  const auto& config = broker_.config();
  const int32_t self = config.broker_id;
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer backoff(executor);
  auto pause = [&]() -> asio::awaitable<void> {
    backoff.expires_after(std::chrono::milliseconds(config.replica_fetch_backoff_ms));
    co_await backoff.async_wait(kNoThrow);
  };
  std::optional<net::ClientStream> stream;
  std::string connected_url;
  beast::flat_buffer buffer;
  std::string last_error;
  auto fail = [&](const std::string& why) {
    if (why != last_error) spdlog::warn("following {}: {}", name, why);
    last_error = why;
    stream.reset();
  };
  while (!f->stop.load() && !stopping_.load(std::memory_order_acquire)) {
    int32_t leader = -1;
    int32_t epoch = 0;
    std::string url;
    {
      std::lock_guard lock(f->mu);
      leader = f->leader;
      epoch = f->epoch;
      url = f->url;
    }
    if (node_.fenced()) {
      co_await pause();
      continue;
    }
    const auto address = parse_http_url(url);
    if (!address) {
      fail(fmt::format("broker {} has an unusable URL '{}'", leader, url));
      co_await pause();
      continue;
    }
    if (!stream || connected_url != url) {
      stream.emplace(executor);
      buffer.clear();
      if (auto ec = co_await stream->connect(*address, std::chrono::seconds(5), node_.peer_tls())) {
        fail(fmt::format("cannot reach broker {} at {}: {}", leader, url, ec.message()));
        co_await pause();
        continue;
      }
      connected_url = url;
    }
    const Offset end = log.end_offset();
    http::request<http::empty_body> request{
        http::verb::get,
        fmt::format("/v1/replica/topics/{}/partitions/{}?offset={}&last_epoch={}&leader_epoch={}"
                    "&replica={}&broker_epoch={}&flushed={}&max_wait_ms={}&max_bytes={}",
                    log.topic(), log.partition(), end.value, log.last_batch_epoch(), epoch, self,
                    node_.broker_epoch(), log.flushed_offset().value,
                    config.replica_fetch_wait_max_ms, config.replica_fetch_max_bytes),
        11};
    request.set(http::field::host, address->host + ":" + address->port_text());
    request.set(http::field::accept, "application/vnd.sluice.batch");
    if (!config.cluster_auth_token.empty()) {
      request.set("X-Sluice-Cluster-Token", config.cluster_auth_token);
    }
    request.keep_alive(true);
    stream->expires_after(std::chrono::milliseconds(config.replica_fetch_wait_max_ms) +
                          std::chrono::seconds(10));
    auto [wec, written] = co_await http::async_write(*stream, request, kNoThrow);
    if (wec) {
      fail(fmt::format("fetch from broker {}: {}", leader, wec.message()));
      co_await pause();
      continue;
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(static_cast<uint64_t>(config.replica_fetch_max_bytes) + (64u << 20));
    auto [rec, read] = co_await http::async_read(*stream, buffer, parser, kNoThrow);
    if (rec) {
      fail(fmt::format("fetch from broker {}: {}", leader, rec.message()));
      co_await pause();
      continue;
    }
    auto response = parser.release();
    if (!response.keep_alive()) stream.reset();
    if (f->stop.load()) break;
    auto& body = response.body();
    const auto answer = parse_fetch_answer(
        response.result_int(), std::as_writable_bytes(std::span(body.data(), body.size())),
        {response["X-Sluice-Leader-Epoch"], response["X-Sluice-High-Watermark"],
         response["X-Sluice-Log-Start-Offset"], response["X-Sluice-Segment-Base"]},
        epoch, end, log.end_offset());
    if (answer.kind == FetchAnswer::Kind::behind) {
      // Retention on the leader removed what this log would continue from: start again at the
      // leader's log start, keeping a copy of what this log held.
      const int64_t old_start = log.start_offset().value;
      const int64_t old_end = log.end_offset().value;
      auto keep = [&](const recovery::QuarantineCut& planned) -> Result<void> {
        recovery::QuarantineCut c = planned;
        c.reason = fmt::format(
            "behind the leader (broker {}, epoch {}): offsets {} to {} end before its log "
            "start {}; the log restarts there",
            leader, epoch, old_start, old_end - 1, answer.log_start);
        auto copied = recovery::quarantine(log.quarantine_dir(), c, wall_clock_ms());
        if (!copied) return copied.error();
        return {};
      };
      if (auto r = log.restart_at(Offset{answer.log_start}, keep); !r) {
        fail(fmt::format("cannot restart at offset {}: {}", answer.log_start, r.error().message()));
        co_await pause();
        continue;
      }
      spdlog::warn("{}: behind broker {}'s log start; restarted empty at offset {}", name, leader,
                   answer.log_start);
      continue;
    }
    if (answer.kind == FetchAnswer::Kind::diverged) {
      // Cut where the leader says, or earlier where this log's history left the epoch the
      // leader named, keeping a copy of every byte that goes.
      const int64_t old_end = log.end_offset().value;
      const int64_t cut = log.epochs().divergence_point(
          static_cast<int32_t>(answer.diverging_epoch), answer.end_offset, old_end);
      const int32_t last = log.last_batch_epoch();
      auto keep = [&](const recovery::QuarantineCut& planned) -> Result<void> {
        recovery::QuarantineCut c = planned;
        c.reason = fmt::format(
            "diverged from the leader (broker {}, epoch {}): offsets {} to {} of epochs up to {} "
            "are not in its log (its epoch {} ends at {}); never acknowledged by acks=all",
            leader, epoch, cut, old_end - 1, last, answer.diverging_epoch, answer.end_offset);
        auto copied = recovery::quarantine(log.quarantine_dir(), c, wall_clock_ms());
        if (!copied) return copied.error();
        return {};
      };
      if (auto r = log.truncate_to(Offset{cut}, keep); !r) {
        fail(fmt::format("cannot truncate to offset {}: {}", cut, r.error().message()));
        co_await pause();
        continue;
      }
      spdlog::warn("{}: log diverged from broker {}'s; cut from offset {} to {} (copied to {})",
                   name, leader, cut, old_end, log.quarantine_dir().string());
      continue;
    }
    if (answer.kind == FetchAnswer::Kind::refused) {
      fail(fmt::format("broker {} {}", leader, answer.message));
      co_await pause();
      continue;
    }
    const auto& batches = answer.batches;
    if (!batches.empty()) {
      auto appended = log.append_replicated(batches, Offset{answer.segment_base});
      if (!appended) {
        fail(fmt::format("cannot append what broker {} sent: {}", leader,
                         appended.error().message()));
        co_await pause();
        continue;
      }
    }
    // What was appended, and what the log held unflushed already (its tail after a restart,
    // which recovery read back but no sync has covered): the leader counts only what this
    // replica reports durable, so an unflushed tail would hold its high watermark back.
    if (log.flushed_offset() < log.end_offset()) {
      if (auto ec = co_await flush_through(broker_.committer(), log)) {
        fail(fmt::format("cannot flush: {}", ec.message()));
        co_await pause();
        continue;
      }
    }
    if (!last_error.empty()) spdlog::info("following {} from broker {} again", name, leader);
    last_error.clear();
    if (log.advance_high_watermark(
            Offset{std::min(answer.high_watermark, log.flushed_offset().value)})) {
      notify(log);
    }
  }
}

}  // namespace sluice::cluster
