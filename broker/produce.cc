#include "broker/produce.h"

#include <spdlog/spdlog.h>
#include <xxhash.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "broker/errors.h"
#include "common/clock.h"
#include "common/topic_name.h"

namespace sluice::broker {
namespace {

// About what a record adds to a batch, to split a partition's records before encoding them.
size_t estimated_size(const segment::RecordInput& r) {
  size_t size = 24 + (r.key ? r.key->size() : 0) + (r.value ? r.value->size() : 0);
  for (const auto& h : r.headers) size += 10 + h.key.size() + (h.value ? h.value->size() : 0);
  return size;
}

}  // namespace

// One produce request in flight: the records, their partitions and batches, and what became
// of them. Shared by the callbacks that complete it.
struct Producer::Request {
  // The records of one partition, their batches and the append's outcome.
  struct Part {
    std::shared_ptr<PartitionLog> log;
    std::vector<std::vector<size_t>> chunks;      // the records of each batch, by index
    std::vector<segment::BatchBuilder> builders;  // one per batch, holding its bytes
    std::vector<segment::ValidBatch> batches;
    std::vector<size_t> batch_chunk;  // the chunk each batch was built from
    std::error_code error;            // fails the batches from results.size() on
    bool durable_failed = false;      // the flush failed: every batch of the part fails
    std::vector<AppendResult> results;
  };

  std::string topic;
  std::optional<int32_t> partition;
  std::span<const ProduceRecord> records;
  Acks acks = Acks::leader;
  Done done;
  ProduceOutcome outcome;
  std::vector<int64_t> timestamps;  // each record's, "now" filled in
  std::vector<Part> parts;
  std::atomic<size_t> waiting{0};  // parts whose outcome has not arrived

  // Fills the records' results from the parts' outcomes and completes the request.
  void finish() {
    for (auto& part : parts) {
      for (size_t q = 0; q < part.batches.size(); ++q) {
        const auto& chunk = part.chunks[part.batch_chunk[q]];
        const bool ok = !part.durable_failed && q < part.results.size();
        for (size_t i = 0; i < chunk.size(); ++i) {
          auto& r = outcome.records[chunk[i]];
          if (!ok) {
            r.error = part.error;
            continue;
          }
          const auto& appended = part.results[q];
          r.offset = appended.base_offset.value + static_cast<int64_t>(i);
          r.timestamp_ms =
              appended.log_append_time_ms >= 0 ? appended.log_append_time_ms : timestamps[chunk[i]];
        }
      }
    }
    auto callback = std::move(done);
    callback(std::move(outcome));
  }

  // One part's outcome arrived; the last completes the request.
  void part_done() {
    if (waiting.fetch_sub(1, std::memory_order_acq_rel) == 1) finish();
  }
};

Producer::Producer(TopicRegistry& registry, TopicAdmin& admin, GroupCommitter& committer,
                   Worker& worker, const config::BrokerConfig& config,
                   const std::atomic<Replication*>& replication)
    : registry_(registry),
      admin_(admin),
      committer_(committer),
      worker_(worker),
      config_(config),
      replication_(replication) {}

void Producer::confirm(PartitionLog& log, const std::vector<AppendResult>& results,
                       std::function<void(std::error_code)> done) {
  auto* replication = replication_.load(std::memory_order_acquire);
  if (replication == nullptr || results.empty()) {
    done({});
    return;
  }
  replication->confirm(log, Offset{results.back().last_offset.value + 1}, std::move(done));
}

int32_t Producer::pick_partition(const ProduceRecord& record, int32_t count) {
  if (record.partition) return *record.partition;
  if (record.input.key) {
    return static_cast<int32_t>(XXH3_64bits(record.input.key->data(), record.input.key->size()) %
                                static_cast<uint64_t>(count));
  }
  return static_cast<int32_t>(round_robin_.fetch_add(1, std::memory_order_relaxed) %
                              static_cast<uint64_t>(count));
}

Acks Producer::default_acks() const {
  return config_.log_flush_policy == config::FlushPolicy::always ? Acks::all : Acks::leader;
}

std::error_code Producer::check_target(std::string_view topic,
                                       std::optional<int32_t> partition) const {
  if (is_internal_topic(topic)) return Errc::internal_topic;
  auto logs = registry_.partitions(topic);
  if (!logs) return creates(logs.error()) ? std::error_code{} : logs.error();
  if (partition && (*partition < 0 || static_cast<size_t>(*partition) >= logs->size())) {
    return Errc::partition_not_found;
  }
  return {};
}

void Producer::with_partitions(
    std::string_view topic,
    std::function<void(Result<std::vector<std::shared_ptr<PartitionLog>>>)> then) {
  auto logs = registry_.partitions(topic);
  if (logs || !creates(logs.error())) {
    then(std::move(logs));
    return;
  }
  // Creating a topic syncs its files and directories: not on the caller's (network) thread.
  worker_.post([this, name = std::string(topic), then = std::move(then)] {
    auto created = admin_.create_topic(name, config_.num_partitions, std::nullopt, {});
    if (!created && created.error() != Errc::topic_exists) {
      then(created.error().code());
      return;
    }
    if (created)
      spdlog::info("auto-created topic {} with {} partitions", name, created->partitions);
    then(registry_.partitions(name));
  });
}

void Producer::produce(std::string_view topic, std::optional<int32_t> partition,
                       std::span<const ProduceRecord> records, Acks acks, Done done) {
  auto request = std::make_shared<Request>();
  request->topic = std::string(topic);
  request->partition = partition;
  request->records = records;
  request->acks = acks;
  request->done = std::move(done);
  if (is_internal_topic(topic)) {
    request->outcome.error = Errc::internal_topic;
    request->finish();
    return;
  }
  with_partitions(topic, [this, request](Result<std::vector<std::shared_ptr<PartitionLog>>> logs) {
    if (!logs) {
      request->outcome.error = logs.error();
      request->finish();
      return;
    }
    // Which partition each record goes to.
    const auto count = static_cast<int32_t>(logs->size());
    std::map<int32_t, std::vector<size_t>> groups;
    auto& results = request->outcome.records;
    results.resize(request->records.size());
    for (size_t i = 0; i < request->records.size(); ++i) {
      const auto& record = request->records[i];
      int32_t p = 0;
      if (request->partition) {
        p = *request->partition;
      } else {
        p = pick_partition(record, count);
      }
      if (p < 0 || p >= count) {
        request->outcome.error = Errc::partition_not_found;
        request->outcome.partition = p;
        request->outcome.partitions = count;
        request->outcome.records.clear();
        request->finish();
        return;
      }
      results[i].partition = p;
      groups[p].push_back(i);
    }
    for (auto& [p, indexes] : groups) {
      auto& part = request->parts.emplace_back();
      part.log = (*logs)[static_cast<size_t>(p)];
      part.chunks.push_back(std::move(indexes));
    }
    store(std::move(request));
  });
}

void Producer::store(std::shared_ptr<Request> request) {
  const int64_t now_ms = wall_clock_ms();
  request->timestamps.resize(request->records.size());
  for (auto& part : request->parts) {
    const auto config = part.log->config();
    const auto limit = static_cast<size_t>(config->max_message_bytes);
    // Split the partition's records, in order, into as few batches as max.message.bytes allows.
    const std::vector<size_t> indexes = std::move(part.chunks.front());
    part.chunks.clear();
    std::vector<size_t> chunk_bytes;  // each chunk's estimated size
    for (size_t index : indexes) {
      const size_t size = estimated_size(request->records[index].input);
      if (part.chunks.empty() || chunk_bytes.back() + size > limit) {
        part.chunks.emplace_back();
        chunk_bytes.push_back(segment::kBatchHeaderSize);
      }
      part.chunks.back().push_back(index);
      chunk_bytes.back() += size;
    }
    // Build them; each batch keeps its builder, whose buffer the log writes from.
    part.builders.reserve(part.chunks.size());
    for (size_t c = 0; c < part.chunks.size(); ++c) {
      auto& builder = part.builders.emplace_back();
      builder.reserve(chunk_bytes[c]);  // one allocation, not a doubling per growth
      builder.reset(config->message_timestamp_type);
      for (size_t index : part.chunks[c]) {
        segment::RecordInput input = request->records[index].input;
        if (input.timestamp_ms < 0) input.timestamp_ms = now_ms;
        request->timestamps[index] = input.timestamp_ms;
        builder.add(input);
      }
      if (builder.size_bytes() > limit) {
        for (size_t index : part.chunks[c]) {
          request->outcome.records[index].error = Errc::record_too_large;
        }
        part.builders.pop_back();
        continue;
      }
      part.batches.push_back(segment::ValidBatch::built(builder.finish()));
      part.batch_chunk.push_back(c);
    }
  }
  request->waiting.store(request->parts.size() + 1, std::memory_order_relaxed);
  // acks=all, once a part is durable here: the in-sync replicas' confirmation completes it.
  auto confirm_part = [this, request](Request::Part& part) {
    confirm(*part.log, part.results, [request, &part](std::error_code confirmed) {
      if (confirmed) {
        part.error = confirmed;
        part.durable_failed = true;
      }
      request->part_done();
    });
  };
  if (auto* replication = replication_.load(std::memory_order_acquire);
      replication != nullptr && request->acks == Acks::all) {
    // Too few in-sync replicas: refused before anything is appended.
    for (auto& part : request->parts) {
      if (part.batches.empty()) continue;
      if (auto ec = replication->admit(*part.log)) {
        part.error = ec;
        part.durable_failed = true;
        part.batches.clear();
        part.batch_chunk.clear();
        for (const auto& chunk : part.chunks) {
          for (size_t index : chunk) {
            if (!request->outcome.records[index].error) request->outcome.records[index].error = ec;
          }
        }
      }
    }
  }
  if (request->acks == Acks::all && committer_.direct_writes()) {
    // Every partition's batches go to the flusher at once, to be written and synced together.
    for (auto& part : request->parts) {
      if (part.batches.empty()) {
        request->part_done();
        continue;
      }
      committer_.append_durable(
          *part.log, part.batches,
          [confirm_part, request, &part](std::error_code ec, std::vector<AppendResult> results) {
            // A failure fails all of the partition's records: some may be
            // stored, none is known durable.
            part.error = ec;
            part.durable_failed = static_cast<bool>(ec);
            part.results = std::move(results);
            if (ec) {
              request->part_done();
              return;
            }
            confirm_part(part);
          });
    }
    request->part_done();
    return;
  }
  for (auto& part : request->parts) {
    if (!part.batches.empty()) {
      auto appended = part.log->append_batches(part.batches);
      if (appended) {
        part.results = std::move(*appended);
      } else {
        part.error = appended.error();
      }
    }
    if (request->acks != Acks::all || part.results.empty()) {
      request->part_done();
      continue;
    }
    committer_.request(*part.log, [confirm_part, request, &part](std::error_code ec) {
      if (ec) {
        // Stored but not known durable: the client must treat these records as failed.
        part.error = ec;
        part.durable_failed = true;
        request->part_done();
        return;
      }
      confirm_part(part);
    });
  }
  request->part_done();
}

void Producer::produce_batches(std::string_view topic, int32_t partition,
                               std::span<const segment::ValidBatch> batches, Acks acks,
                               BatchesDone done) {
  if (is_internal_topic(topic)) {
    done(Errc::internal_topic, {});
    return;
  }
  with_partitions(topic, [this, partition, batches, acks, done = std::move(done)](
                             Result<std::vector<std::shared_ptr<PartitionLog>>> logs) mutable {
    if (!logs) {
      done(logs.error(), {});
      return;
    }
    if (partition < 0 || static_cast<size_t>(partition) >= logs->size()) {
      done(Errc::partition_not_found, {});
      return;
    }
    std::shared_ptr<PartitionLog> log = (*logs)[static_cast<size_t>(partition)];
    if (auto* replication = replication_.load(std::memory_order_acquire);
        replication != nullptr && acks == Acks::all) {
      if (auto ec = replication->admit(*log)) {
        done(ec, {});
        return;
      }
    }
    // Durable here, then (cluster mode) confirmed by the in-sync replicas.
    auto confirmed = [this, log, done](std::error_code ec, std::vector<AppendResult> results) {
      if (ec) {
        done(ec, {});
        return;
      }
      auto shared = std::make_shared<std::vector<AppendResult>>(std::move(results));
      confirm(*log, *shared, [shared, done](std::error_code c) {
        done(c, c ? std::vector<AppendResult>{} : std::move(*shared));
      });
    };
    if (acks == Acks::all && committer_.direct_writes()) {
      committer_.append_durable(*log, batches, confirmed);
      return;
    }
    auto appended = log->append_batches(batches);
    if (!appended) {
      done(appended.error(), {});
      return;
    }
    if (acks != Acks::all) {
      done({}, std::move(*appended));
      return;
    }
    auto results = std::make_shared<std::vector<AppendResult>>(std::move(*appended));
    committer_.request(*log, [results, confirmed](std::error_code ec) {
      confirmed(ec, ec ? std::vector<AppendResult>{} : std::move(*results));
    });
  });
}

}  // namespace sluice::broker
