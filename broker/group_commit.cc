#include "broker/group_commit.h"

#include <algorithm>
#include <future>
#include <map>

#include "broker/errors.h"

namespace sluice::broker {

namespace {

// Helper threads besides the flusher: fdatasyncs of different files overlap on the device.
constexpr size_t kHelperThreads = 3;

}  // namespace

GroupCommitter::Helpers::Helpers(size_t threads, bool direct_writes) {
  for (size_t i = 0; i < threads; ++i) {
    buffers_.push_back(direct_writes ? std::make_unique<segment::DirectBuffer>() : nullptr);
  }
  for (size_t i = 0; i < threads; ++i) {
    threads_.emplace_back([this, direct = buffers_[i].get()] { loop(direct); });
  }
}

GroupCommitter::Helpers::~Helpers() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
}

void GroupCommitter::Helpers::run(std::span<LogWork> items, segment::DirectBuffer* own) {
  {
    std::lock_guard lock(mu_);
    items_ = items;
    next_.store(0, std::memory_order_relaxed);
    open_ = true;
    ++generation_;
  }
  wake_.notify_all();
  drain(items, own);
  std::unique_lock lock(mu_);
  open_ = false;  // every item is taken; helpers that have not joined stay out
  idle_.wait(lock, [&] { return active_ == 0; });
  items_ = {};
}

void GroupCommitter::Helpers::loop(segment::DirectBuffer* direct) {
  uint64_t seen = 0;
  std::unique_lock lock(mu_);
  while (true) {
    wake_.wait(lock, [&] { return stop_ || (open_ && generation_ != seen); });
    if (stop_) return;
    seen = generation_;
    ++active_;
    const auto items = items_;
    lock.unlock();
    drain(items, direct);
    lock.lock();
    if (--active_ == 0) idle_.notify_all();
  }
}

void GroupCommitter::Helpers::drain(std::span<LogWork> items, segment::DirectBuffer* direct) {
  for (size_t i; (i = next_.fetch_add(1, std::memory_order_relaxed)) < items.size();) {
    work_on(items[i], direct);
  }
}

void GroupCommitter::work_on(LogWork& work, segment::DirectBuffer* direct) {
  if (!work.jobs.empty()) work.log->append_jobs(work.jobs, direct);
  if (auto r = work.log->flush(); !r) work.error = r.error();
}

GroupCommitter::GroupCommitter(Options options)
    : options_(options),
      direct_(options.direct_writes ? std::make_unique<segment::DirectBuffer>() : nullptr),
      helpers_(kHelperThreads, options.direct_writes),
      thread_([this] { run(); }) {}

GroupCommitter::~GroupCommitter() { stop(); }

void GroupCommitter::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void GroupCommitter::track(PartitionLog* log) {
  {
    std::lock_guard lock(mu_);
    tracked_.push_back(log);
    any_short_ = true;  // until the next tick looks
    recheck_ = true;    // its flush.ms may call for an earlier wake
  }
  cv_.notify_one();
}

void GroupCommitter::untrack(PartitionLog* log) {
  std::vector<Pending> mine;
  std::vector<PendingAppend> my_appends;
  {
    std::unique_lock lock(mu_);
    std::erase(tracked_, log);
    std::erase(urgent_, log);
    auto it = std::stable_partition(pending_.begin(), pending_.end(),
                                    [&](const Pending& p) { return p.log != log; });
    std::move(it, pending_.end(), std::back_inserter(mine));
    pending_.erase(it, pending_.end());
    auto at = std::stable_partition(appends_.begin(), appends_.end(),
                                    [&](const PendingAppend& p) { return p.log != log; });
    std::move(at, appends_.end(), std::back_inserter(my_appends));
    appends_.erase(at, appends_.end());
    // A round that is running may be flushing `log`: wait for it. Later rounds cannot touch
    // it: it is no longer tracked, and its requests are now ours.
    const uint64_t round = rounds_;
    round_done_.wait(lock, [&] { return !in_round_ || rounds_ != round; });
  }
  // The flusher's direct buffer is its own: these go through the page cache.
  flush_round(std::move(mine), std::move(my_appends), {}, nullptr, nullptr);
}

void GroupCommitter::request(PartitionLog& log, Callback done) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      done(Errc::shutting_down);
      return;
    }
    pending_.push_back({&log, std::move(done)});
  }
  cv_.notify_one();
}

void GroupCommitter::append_durable(PartitionLog& log, std::span<const segment::ValidBatch> batches,
                                    AppendCallback done) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      done(Errc::shutting_down, {});
      return;
    }
    auto job = std::make_unique<PartitionLog::AppendJob>();
    job->batches = batches;
    appends_.push_back({&log, std::move(job), std::move(done)});
  }
  cv_.notify_one();
}

Result<void> GroupCommitter::wait_durable(PartitionLog& log) {
  std::promise<std::error_code> promise;
  auto future = promise.get_future();
  request(log, [&promise](std::error_code ec) { promise.set_value(ec); });
  if (auto ec = future.get()) return ec;
  return {};
}

void GroupCommitter::notify_appended(PartitionLog& log, bool rolled) {
  const auto config = log.config();
  if (rolled || log.unflushed_messages() >= config->flush_messages) {
    {
      std::lock_guard lock(mu_);
      if (std::find(urgent_.begin(), urgent_.end(), &log) == urgent_.end()) {
        urgent_.push_back(&log);
      }
    }
    cv_.notify_one();
    return;
  }
  const auto flush_ms = short_flush_ms(*config);
  if (!flush_ms) return;
  // The flusher may be asleep until later than this log is due (its topic's flush.ms was
  // changed, or it was clean when the flusher last looked).
  const auto due = log.last_flush() + *flush_ms;
  {
    std::lock_guard lock(mu_);
    any_short_ = true;
    if (due >= wake_at_) return;
    recheck_ = true;
  }
  cv_.notify_one();
}

uint64_t GroupCommitter::flush_rounds() const {
  std::lock_guard lock(mu_);
  return rounds_;
}

void GroupCommitter::run() {
  using Clock = std::chrono::steady_clock;
  auto next_tick = Clock::now() + options_.interval;
  std::unique_lock lock(mu_);
  while (true) {
    auto ready = [&] {
      return stopping_ || recheck_ || !pending_.empty() || !appends_.empty() || !urgent_.empty();
    };
    if (options_.interval.count() > 0) {
      wake_at_ = std::min(next_tick, next_short_flush(Clock::now()));
      const auto until = wake_at_;
      cv_.wait_until(lock, until, ready);
      wake_at_ = Clock::time_point::min();  // awake: appends need not wake it
    } else {
      cv_.wait(lock, ready);
    }
    recheck_ = false;
    std::vector<Pending> pending = std::move(pending_);
    pending_.clear();
    std::vector<PendingAppend> appends = std::move(appends_);
    appends_.clear();
    std::vector<PartitionLog*> extra = std::move(urgent_);
    urgent_.clear();
    const auto now = Clock::now();
    const bool tick = options_.interval.count() > 0 && now >= next_tick;
    if (tick || stopping_) {
      any_short_ = false;
      for (auto* log : tracked_) {
        if (log->unflushed_messages() > 0) extra.push_back(log);
        if (short_flush_ms(*log->config())) any_short_ = true;
      }
      next_tick = now + options_.interval;
    } else if (any_short_) {
      // Between ticks, the logs whose topic's flush.ms is shorter than the interval and due.
      for (auto* log : tracked_) {
        const auto flush_ms = short_flush_ms(*log->config());
        if (flush_ms && log->unflushed_messages() > 0 && now - log->last_flush() >= *flush_ms) {
          extra.push_back(log);
        }
      }
    }
    const bool done = stopping_;
    ++rounds_;
    in_round_ = true;
    lock.unlock();
    flush_round(std::move(pending), std::move(appends), std::move(extra), direct_.get(), &helpers_);
    lock.lock();
    in_round_ = false;
    round_done_.notify_all();
    if (done) return;
  }
}

std::optional<std::chrono::milliseconds> GroupCommitter::short_flush_ms(
    const config::TopicConfig& config) const {
  const int64_t ms = config.flush_ms;
  if (ms >= options_.interval.count()) return std::nullopt;
  return std::chrono::milliseconds(ms);
}

std::chrono::steady_clock::time_point GroupCommitter::next_short_flush(
    std::chrono::steady_clock::time_point now) const {
  auto next = std::chrono::steady_clock::time_point::max();
  if (!any_short_) return next;
  for (auto* log : tracked_) {
    const auto flush_ms = short_flush_ms(*log->config());
    if (!flush_ms) continue;
    // A dirty log is due flush.ms after its last flush; a clean one may turn dirty at any
    // moment, so look again within flush.ms.
    const auto due =
        log->unflushed_messages() > 0 ? log->last_flush() + *flush_ms : now + *flush_ms;
    next = std::min(next, due);
  }
  return next;
}

void GroupCommitter::flush_round(std::vector<Pending> pending, std::vector<PendingAppend> appends,
                                 std::vector<PartitionLog*> extra, segment::DirectBuffer* direct,
                                 Helpers* helpers) {
  std::map<PartitionLog*, size_t> slot;
  std::vector<LogWork> work;
  auto work_for = [&](PartitionLog* log) -> LogWork& {
    auto [it, added] = slot.emplace(log, work.size());
    if (added) work.push_back({log, {}, {}});
    return work[it->second];
  };
  for (const auto& a : appends) work_for(a.log).jobs.push_back(a.job.get());
  for (const auto& p : pending) work_for(p.log);
  for (auto* log : extra) work_for(log);
  if (helpers != nullptr && work.size() > 1) {
    helpers->run(work, direct);
  } else {
    for (auto& w : work) work_on(w, direct);
  }
  for (auto& a : appends) {
    const auto ec = a.job->error ? a.job->error : work[slot[a.log]].error;
    a.done(ec, ec ? std::vector<AppendResult>{} : std::move(a.job->results));
  }
  for (auto& p : pending) p.done(work[slot[p.log]].error);
}

}  // namespace sluice::broker
