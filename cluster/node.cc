#include "cluster/node.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <random>

namespace sluice::cluster {
namespace {

using Clock = std::chrono::steady_clock;

std::string new_incarnation() {
  std::random_device rd;
  return fmt::format("{:08x}{:08x}{:08x}{:08x}", rd(), rd(), rd(), rd());
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  (void)ec;
}

// etcd leases count whole seconds, at least 2.
int64_t ttl_seconds(std::chrono::milliseconds session) {
  return std::max<int64_t>(2, (session.count() + 999) / 1000);
}

}  // namespace

ClusterNode::ClusterNode(Options options)
    : options_(std::move(options)),
      layout_(options_.prefix),
      incarnation_(new_incarnation()),
      client_(std::make_unique<EtcdClient>(
          io_.get_executor(),
          EtcdClient::Options{options_.endpoints, std::chrono::milliseconds(2000),
                              options_.etcd_tls})),
      work_(io_.get_executor()),
      view_(std::make_shared<ClusterView>()) {
  thread_ = std::thread([this] { io_.run(); });
}

ClusterNode::~ClusterNode() { stop(); }

template <class T>
T ClusterNode::run(std::function<asio::awaitable<T>()> body) {
  auto future = asio::co_spawn(io_, std::move(body), asio::use_future);
  return future.get();
}

boost::system::result<std::string, ClusterNode::Error> ClusterNode::agree_cluster_id(
    const std::string& proposed, const std::optional<std::string>& local) {
  using R = boost::system::result<std::string, Error>;
  const auto deadline = Clock::now() + options_.session_timeout * 2 + std::chrono::seconds(5);
  return run<R>([&]() -> asio::awaitable<R> {
    while (true) {
      Txn txn;
      txn.compare.push_back(
          {layout_.cluster(), Compare::Target::create, Compare::Op::equal, 0, {}});
      txn.success.push_back(
          TxnOp::put(layout_.cluster(), cluster_id_json(local.value_or(proposed))));
      txn.failure.push_back(TxnOp::range(layout_.cluster()));
      auto answer = co_await client_->txn(txn);
      if (!answer) {
        if (Clock::now() > deadline) {
          co_return Error{fmt::format("cannot reach etcd at {}:{}: {}",
                                      options_.endpoints.front().host,
                                      options_.endpoints.front().port, answer.error().message())};
        }
        co_await sleep_for(std::chrono::milliseconds(250));
        continue;
      }
      std::string id = local.value_or(proposed);
      agreed_revision_ = answer->header.revision;
      if (!answer->succeeded) {
        if (answer->responses.empty() || answer->responses[0].kvs.empty()) continue;  // deleted
        auto stored = parse_cluster_id(answer->responses[0].kvs[0].value);
        if (!stored) {
          co_return Error{fmt::format("etcd key {} does not hold a cluster id", layout_.cluster())};
        }
        id = std::move(*stored);
      } else {
        spdlog::info("cluster {} created in etcd", id);
      }
      if (local && *local != id) {
        co_return Error{fmt::format(
            "this broker's data belongs to cluster {} (meta.properties) but etcd at {} holds "
            "cluster {}: refusing to join another cluster",
            *local, layout_.prefix(), id)};
      }
      co_return R(boost::system::in_place_value, std::move(id));
    }
  });
}

std::vector<RepairSource> ClusterNode::in_sync_peers(const std::string& topic, int32_t partition) {
  return run<std::vector<RepairSource>>([&]() -> asio::awaitable<std::vector<RepairSource>> {
    std::vector<RepairSource> out;
    auto state = co_await client_->range(layout_.partition(topic, partition));
    if (!state || state->kvs.empty()) co_return out;
    auto parsed = parse_partition_state(state->kvs[0].value);
    if (!parsed) co_return out;
    auto brokers = co_await client_->range(layout_.brokers(), prefix_end(layout_.brokers()));
    if (!brokers) co_return out;
    std::map<int32_t, std::string> urls;
    for (const auto& kv : brokers->kvs) {
      if (auto b = parse_broker_registration(kv.value)) urls[b->id] = b->url;
    }
    out =
        repair_sources(*parsed, options_.broker_id, [&](int32_t id) -> std::optional<std::string> {
          auto url = urls.find(id);
          if (url == urls.end()) return std::nullopt;
          return url->second;
        });
    co_return out;
  });
}

asio::awaitable<Result<int64_t>> ClusterNode::grant_lease() {
  auto lease = co_await client_->grant(ttl_seconds(options_.session_timeout));
  if (!lease) co_return lease.error();
  lease_ = lease->id;
  ttl_s_ = lease->ttl_s;
  co_return lease->id;
}

asio::awaitable<Result<ClusterNode::Registration>> ClusterNode::register_once() {
  const BrokerRegistration me{options_.broker_id, options_.url, incarnation_, options_.clean_start,
                              storage_revision_};
  const std::string key = layout_.broker(options_.broker_id);
  Txn txn;
  txn.compare.push_back({key, Compare::Target::create, Compare::Op::equal, 0, {}});
  txn.success.push_back(TxnOp::put(key, to_json(me), lease_));
  txn.failure.push_back(TxnOp::range(key));
  auto answer = co_await client_->txn(txn);
  if (!answer) co_return answer.error();
  if (answer->succeeded) {
    broker_epoch_.store(answer->header.revision, std::memory_order_release);
    co_return Registration::done;
  }
  // Our own registration, if a lost answer hid that the txn had been applied.
  if (!answer->responses.empty() && !answer->responses[0].kvs.empty()) {
    const auto& kv = answer->responses[0].kvs[0];
    auto holder = parse_broker_registration(kv.value);
    if (holder && holder->incarnation == incarnation_ && kv.lease == lease_) {
      broker_epoch_.store(kv.create_revision, std::memory_order_release);
      co_return Registration::done;
    }
  }
  co_return Registration::held;
}

asio::awaitable<Result<void>> ClusterNode::campaign() {
  const std::string key = layout_.controller(lease_);
  Txn txn;
  txn.compare.push_back({key, Compare::Target::create, Compare::Op::equal, 0, {}});
  txn.success.push_back(TxnOp::put(key, std::to_string(options_.broker_id), lease_));
  auto answer = co_await client_->txn(txn);
  if (!answer) co_return answer.error();
  co_return Result<void>{};
}

asio::awaitable<Result<int64_t>> ClusterNode::load_keys() {
  auto range = co_await client_->range(layout_.root(), prefix_end(layout_.root()));
  if (!range) co_return range.error();
  keys_.clear();
  for (auto& kv : range->kvs) {
    std::string key = kv.key;
    keys_.emplace(std::move(key), std::move(kv));
  }
  revision_ = range->header.revision;
  publish();
  co_return revision_;
}

void ClusterNode::publish() {
  size_t skipped = 0;
  auto view = std::make_shared<ClusterView>(build_view(layout_, keys_, revision_, &skipped));
  if (skipped > 0) {
    spdlog::warn("etcd: {} keys under {} could not be read", skipped, layout_.root());
  }
  {
    std::lock_guard lock(view_mu_);
    view_ = view;
  }
  view_changed_.notify_all();
  if (!started_) return;
  if (on_view_) on_view_(view);
  if (view->controller == options_.broker_id) schedule_controller();
}

bool ClusterNode::wait_for(const std::function<bool(const ClusterView&)>& done,
                           std::chrono::milliseconds limit) {
  std::unique_lock lock(view_mu_);
  return view_changed_.wait_for(lock, limit, [&] { return done(*view_); });
}

Result<TxnAnswer> ClusterNode::txn(const Txn& txn) {
  return run<Result<TxnAnswer>>(
      [&]() -> asio::awaitable<Result<TxnAnswer>> { co_return co_await client_->txn(txn); });
}

void ClusterNode::txn_async(Txn txn, std::function<void(Result<TxnAnswer>)> done) {
  asio::co_spawn(
      io_,
      [this, txn = std::move(txn), done = std::move(done)]() -> asio::awaitable<void> {
        auto answer = co_await client_->txn(txn);
        done(std::move(answer));
      },
      asio::detached);
}

boost::system::result<void, ClusterNode::Error> ClusterNode::start() {
  using R = boost::system::result<void, Error>;
  const auto deadline = Clock::now() + options_.session_timeout * 2 + std::chrono::seconds(5);
  R started = run<R>([&]() -> asio::awaitable<R> {
    bool waiting_logged = false;
    while (true) {
      if (lease_ == 0) {
        auto lease = co_await grant_lease();
        if (!lease) {
          if (Clock::now() > deadline) {
            co_return Error{fmt::format("cannot get an etcd lease: {}", lease.error().message())};
          }
          co_await sleep_for(std::chrono::milliseconds(250));
          continue;
        }
      } else if (auto alive = co_await client_->keepalive(lease_); alive && alive->ttl_s <= 0) {
        // While an earlier registration expires, this one's lease must not expire too.
        lease_ = 0;
        continue;
      }
      auto registered = co_await register_once();
      if (registered && *registered == Registration::done) {
        auto c = co_await campaign();
        if (c) break;
        // The lease went (etcd restarted, or this start was slow): the registration went with
        // it. Start again with a new lease.
        if (c.error() != EtcdErrc::lease_not_found || Clock::now() > deadline) {
          co_return Error{fmt::format("cannot campaign for controller: {}", c.error().message())};
        }
        lease_ = 0;
        continue;
      }
      if (registered && !waiting_logged) {
        spdlog::info(
            "broker.id {} is still registered in etcd; waiting for that registration to expire",
            options_.broker_id);
        waiting_logged = true;
      }
      if (!registered && registered.error() == EtcdErrc::lease_not_found) lease_ = 0;
      if (Clock::now() > deadline) {
        (void)co_await client_->revoke(lease_);
        const std::chrono::milliseconds waited =
            options_.session_timeout * 2 + std::chrono::seconds(5);
        co_return Error{fmt::format(
            "broker.id {} is held by a live broker (its etcd registration did not expire "
            "within {} ms); give this broker another broker.id",
            options_.broker_id, waited.count())};
      }
      co_await sleep_for(std::chrono::milliseconds(500));
    }
    if (auto loaded = co_await load_keys(); !loaded) {
      co_return Error{
          fmt::format("cannot read the cluster from etcd: {}", loaded.error().message())};
    }
    co_return R{};
  });
  if (!started) return started;
  fenced_.store(false, std::memory_order_release);
  spdlog::info("registered in etcd as broker {} ({}), broker epoch {}", options_.broker_id,
               options_.url, broker_epoch());
  asio::post(io_, [this] {
    started_ = true;
    publish();  // the first view goes to the callbacks too
  });
  renewed_at_.store(Clock::now().time_since_epoch().count(), std::memory_order_release);
  ttl_ms_.store(ttl_s_ * 1000, std::memory_order_release);
  asio::co_spawn(io_, heartbeat_loop(), asio::detached);
  asio::co_spawn(io_, watch_loop(), asio::detached);
  if (options_.auto_leader_rebalance) asio::co_spawn(io_, rebalance_loop(), asio::detached);
  return {};
}

bool ClusterNode::fenced() const {
  if (fenced_.load(std::memory_order_acquire)) return true;
  const auto renewed =
      Clock::time_point(Clock::duration(renewed_at_.load(std::memory_order_acquire)));
  return Clock::now() - renewed >=
         std::chrono::milliseconds(ttl_ms_.load(std::memory_order_acquire));
}

asio::awaitable<void> ClusterNode::rebalance_loop() {
  while (!stopping_.load(std::memory_order_acquire)) {
    // Short naps, not one long sleep: stop() waits for every loop on this thread to end.
    const auto due = Clock::now() + options_.leader_imbalance_interval;
    while (!stopping_.load(std::memory_order_acquire) && Clock::now() < due) {
      co_await sleep_for(
          std::min(options_.heartbeat,
                   std::chrono::duration_cast<std::chrono::milliseconds>(due - Clock::now())));
    }
    if (stopping_.load(std::memory_order_acquire)) break;
    rebalance_due_ = true;
    schedule_controller();
  }
}

asio::awaitable<void> ClusterNode::heartbeat_loop() {
  auto last_ok = Clock::now();
  while (!stopping_.load(std::memory_order_acquire)) {
    co_await sleep_for(options_.heartbeat);
    if (stopping_.load(std::memory_order_acquire)) break;
    const auto sent = Clock::now();
    auto alive = co_await client_->keepalive(lease_);
    if (alive && alive->ttl_s > 0) {
      last_ok = sent;
      renewed_at_.store(sent.time_since_epoch().count(), std::memory_order_release);
      if (fenced_.exchange(false, std::memory_order_acq_rel)) {
        spdlog::info("etcd lease renewed again: broker {} unfenced", options_.broker_id);
      }
      continue;
    }
    if (!alive) {
      client_->close_idle();  // the next call connects afresh (perhaps to another endpoint)
      if (Clock::now() - last_ok >= std::chrono::seconds(ttl_s_) &&
          !fenced_.exchange(true, std::memory_order_acq_rel)) {
        spdlog::warn("etcd lease not renewed for {} s ({}): broker {} fenced", ttl_s_,
                     alive.error().message(), options_.broker_id);
      }
      continue;
    }
    // The lease is gone: everything bound to it (registration, campaign) went with it.
    if (!fenced_.exchange(true, std::memory_order_acq_rel)) {
      spdlog::warn("etcd lease expired: broker {} fenced; registering again", options_.broker_id);
    }
    auto lease = co_await grant_lease();
    if (!lease) continue;
    auto registered = co_await register_once();
    if (!registered || *registered != Registration::done) {
      lease_ = 0;
      continue;
    }
    if (auto c = co_await campaign(); !c) continue;
    last_ok = sent;
    renewed_at_.store(sent.time_since_epoch().count(), std::memory_order_release);
    ttl_ms_.store(ttl_s_ * 1000, std::memory_order_release);
    fenced_.store(false, std::memory_order_release);
    spdlog::info("registered in etcd again as broker {}, broker epoch {}", options_.broker_id,
                 broker_epoch());
  }
}

asio::awaitable<void> ClusterNode::watch_loop() {
  while (!stopping_.load(std::memory_order_acquire)) {
    auto watch = co_await client_->watch(layout_.root(), prefix_end(layout_.root()), revision_ + 1);
    if (!watch) {
      if (watch.error() == EtcdErrc::watch_canceled) {
        // Compacted past our revision: read everything again, then watch from there.
        (void)co_await load_keys();
      }
      co_await sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    watch_ = std::move(*watch);
    while (!stopping_.load(std::memory_order_acquire)) {
      auto answer = co_await watch_->next();
      if (!answer || answer->canceled) {
        if (answer && answer->compact_revision > 0) (void)co_await load_keys();
        break;
      }
      for (auto& event : answer->events) {
        if (event.type == WatchEvent::Type::del) {
          keys_.erase(event.kv.key);
        } else {
          std::string key = event.kv.key;
          keys_.insert_or_assign(std::move(key), std::move(event.kv));
        }
      }
      if (answer->header.revision > revision_) revision_ = answer->header.revision;
      if (!answer->events.empty()) publish();
    }
    watch_.reset();
    if (!stopping_.load(std::memory_order_acquire)) {
      co_await sleep_for(std::chrono::milliseconds(200));
    }
  }
}

void ClusterNode::stop() {
  if (stopping_.exchange(true)) {
    if (thread_.joinable()) thread_.join();
    return;
  }
  // The lease first: its keys (registration, campaign) go at once, so the controller moves
  // this broker's leaderships without waiting for the TTL.
  auto revoke = asio::co_spawn(
      io_,
      [this]() -> asio::awaitable<void> {
        if (lease_ == 0) co_return;
        if (auto r = co_await client_->revoke(lease_); !r) {
          spdlog::warn("etcd lease revoke failed: {}", r.error().message());
        } else {
          spdlog::info("etcd lease revoked: broker {} left the cluster", options_.broker_id);
        }
        lease_ = 0;
      },
      asio::use_future);
  revoke.wait_for(std::chrono::seconds(3));
  // The loops see stopping_ and end (a heartbeat or an etcd call in flight at most); the
  // thread's run() returns when nothing is left.
  asio::post(io_, [this] {
    if (watch_) watch_->close();
    client_->close_idle();
    work_.reset();
  });
  if (thread_.joinable()) thread_.join();
  fenced_.store(true, std::memory_order_release);
}

std::shared_ptr<const ClusterView> ClusterNode::view() const {
  std::lock_guard lock(view_mu_);
  return view_;
}

}  // namespace sluice::cluster
