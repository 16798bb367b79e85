#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>
#include <vector>

#include "broker/errors.h"
#include "broker/group_commit.h"
#include "broker/partition_log.h"
#include "broker/replication.h"
#include "broker/topic_admin.h"
#include "broker/topic_registry.h"
#include "broker/worker.h"
#include "config/config.h"
#include "segment/batch.h"

namespace sluice::broker {

// How much durability a producer waits for, as Kafka's acks: none (0) and leader (1) answer
// once the records are in the log; all (-1) once they are durable (fdatasynced).
enum class Acks { none, leader, all };

// One record of a produce request, as a front end parsed it.
struct ProduceRecord {
  segment::RecordInput input;        // timestamp_ms < 0: the broker's clock
  std::optional<int32_t> partition;  // the client's choice, else key hash or round robin
};

// What became of one record: its partition, and its offset and timestamp or why it failed.
struct RecordResult {
  int32_t partition = 0;
  int64_t offset = -1;
  int64_t timestamp_ms = -1;  // the record's, or the broker's under LogAppendTime
  std::error_code error;      // set when the record may not be stored
};

// A produce request's outcome: a request-level `error` (nothing was stored: unknown topic or
// partition, internal topic), or one result per record, in request order.
struct ProduceOutcome {
  std::error_code error;
  int32_t partition = -1;  // with Errc::partition_not_found: the partition asked for
  int32_t partitions = 0;  // ... and how many the topic has
  std::vector<RecordResult> records;
};

// The produce story in one place, for every front end and protocol: finds (or auto-creates)
// the topic, picks each record's partition (the request's, the record's, the hash of its key,
// or round robin), splits each partition's records into batches within max.message.bytes,
// builds them, chooses the append path and waits for `acks`:
// - acks=all with log.direct.io: the group-commit flusher appends the batches of every
//   partition of the request with the others queued meanwhile, writes them directly and
//   syncs them (GroupCommitter::append_durable);
// - otherwise the calling thread appends (PartitionLog::append_jobs through the page cache,
//   which never syncs), and acks=all then waits for the flusher's next round.
// Appends announce themselves through PartitionLog::Options::on_append.
//
// Threading: thread-safe. `done` runs exactly once, on the calling thread, the flusher's or the
// broker's worker, and must not block; the records and batches must stay valid until it runs.
class Producer {
 public:
  // `replication` (cluster mode; null when standalone) is what acks=all also waits for: the
  // partition's in-sync replicas (Replication::admit before the append, confirm after it).
  Producer(TopicRegistry& registry, TopicAdmin& admin, GroupCommitter& committer, Worker& worker,
           const config::BrokerConfig& config, const std::atomic<Replication*>& replication);

  using Done = std::function<void(ProduceOutcome)>;
  void produce(std::string_view topic, std::optional<int32_t> partition,
               std::span<const ProduceRecord> records, Acks acks, Done done);

  // Client-built batches (validated) for one partition, appended in order: their offsets, or
  // the error that stopped them (batches before it may be stored, none is known durable).
  using BatchesDone = std::function<void(std::error_code, std::vector<AppendResult>)>;
  void produce_batches(std::string_view topic, int32_t partition,
                       std::span<const segment::ValidBatch> batches, Acks acks, BatchesDone done);

  // Whether a produce to `topic` (and `partition`) can go ahead, checked before a front end
  // reads the records: Errc::internal_topic, Errc::topic_not_found (unless the first records
  // will create it), Errc::partition_not_found, or nothing. The produce itself checks again.
  [[nodiscard]] std::error_code check_target(std::string_view topic,
                                             std::optional<int32_t> partition) const;

  // The partition of `record` among `count` when the request names none: the record's own,
  // else the hash of its key, else the next in round robin. (Another broker's forwarding uses
  // it too, so a key lands on the same partition whichever broker took it.)
  int32_t pick_partition(const ProduceRecord& record, int32_t count);

  // acks when a request names none: all under log.flush.policy=always, else leader.
  Acks default_acks() const;

 private:
  struct Request;
  // A topic that does not exist is created by its first produce.
  bool creates(std::error_code lookup) const {
    return lookup == Errc::topic_not_found && config_.auto_create_topics_enable;
  }
  // Looks the topic's partitions up, auto-creating the topic on the worker when allowed; calls
  // `then` with them (on this thread or the worker's) or with the error.
  void with_partitions(
      std::string_view topic,
      std::function<void(Result<std::vector<std::shared_ptr<PartitionLog>>>)> then);
  void store(std::shared_ptr<Request> request);
  // acks=all once `log` holds results durably: done({}) at once on a standalone broker, else
  // once replication confirms them (Replication::confirm).
  void confirm(PartitionLog& log, const std::vector<AppendResult>& results,
               std::function<void(std::error_code)> done);

  TopicRegistry& registry_;
  TopicAdmin& admin_;
  GroupCommitter& committer_;
  Worker& worker_;
  const config::BrokerConfig& config_;
  const std::atomic<Replication*>& replication_;
  std::atomic<uint64_t> round_robin_{0};
};

}  // namespace sluice::broker
