#pragma once

#include <functional>
#include <system_error>

#include "broker/errors.h"
#include "common/types.h"

namespace sluice::broker {

class PartitionLog;

// What a cluster adds to the produce path of a partition this broker leads (docs/CLUSTER.md,
// "High watermark, what consumers read, acks"). A standalone broker has none: acks=all then
// means durable on this broker alone.
//
// Threading: called from network threads, the flusher and the worker; implementations are
// thread-safe and never block.
class Replication {
 public:
  virtual ~Replication() = default;

  // acks=all, before anything is appended to `log`: Errc::not_leader when this broker does not
  // lead it or may have lost the leadership (fenced), Errc::not_enough_replicas while the
  // partition's in-sync replica set is smaller than its min.insync.replicas (nothing may be
  // appended then), else nothing.
  [[nodiscard]] virtual std::error_code admit(const PartitionLog& log) = 0;

  // acks=all, after records up to `end` (exclusive) were appended to `log`: calls done({})
  // once the high watermark has reached `end`, or done(Errc::not_confirmed) when this broker
  // lost the leadership, was fenced, or request.timeout.ms passed first. Exactly once, on any
  // thread; done must not block.
  virtual void confirm(PartitionLog& log, Offset end,
                       std::function<void(std::error_code)> done) = 0;

  // A flush made more of `log` durable (on the flusher's thread).
  virtual void flushed(PartitionLog& log) = 0;
};

}  // namespace sluice::broker
