#pragma once

// The background scrub (docs/OPERATIONS.md, "Scrub"): re-reads every partition's sealed
// segments at a bounded rate and checks every batch (both checksums, contiguous offsets), so
// that damage the disk does to data nobody reads is found while a replica still holds a good
// copy. Damage goes to the repair function (cluster mode: recovery::SegmentDamage replaced
// from an in-sync replica); without one, or when it fails, it is reported, and the next
// start-up recovery cuts the log there as it cuts any damaged log.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "recovery/damage.h"

namespace sluice::segment {
class Segment;
}

namespace sluice::broker {

class TopicRegistry;
class PartitionLog;

// Threading: start/stop from the owning thread; the rest from any thread.
class Scrubber {
 public:
  // One damaged segment the scrub found.
  struct Finding {
    std::string partition;  // "<topic>-<partition>"
    int64_t segment = 0;    // base offset
    uint64_t position = 0;  // of the first bad batch
    std::string error;
    std::optional<int32_t> repaired_from;  // the broker whose copy replaced it
    std::string detail;                    // why it was not repaired
    int64_t at_ms = 0;                     // wall clock
  };
  struct Counters {
    std::atomic<uint64_t> passes{0};    // whole passes over every sealed segment
    std::atomic<uint64_t> segments{0};  // segments checked
    std::atomic<uint64_t> bytes{0};     // bytes read
    std::atomic<uint64_t> damaged{0};   // damaged segments found
    std::atomic<uint64_t> repaired{0};  // of those, repaired from a replica
  };

  // `bytes_per_second`: log.scrub.bytes.per.second (0: the scrub does not run).
  Scrubber(TopicRegistry& topics, int64_t bytes_per_second);
  ~Scrubber();
  Scrubber(const Scrubber&) = delete;
  Scrubber& operator=(const Scrubber&) = delete;

  void start();
  void stop();
  // Installs (or, empty, removes) the repair function; called from any thread.
  void set_repair(recovery::RepairFn repair);

  bool enabled() const { return bytes_per_second_ > 0; }
  int64_t bytes_per_second() const { return bytes_per_second_; }
  const Counters& counters() const { return counters_; }
  std::optional<Finding> last_finding() const;
  // {"bytes_per_second":..,"passes":..,"segments":..,"bytes":..,"damaged":..,"repaired":..,
  //  "last_finding":{...}|null}
  std::string to_json() const;

 private:
  void run();
  void scrub(PartitionLog& log);
  // Checks one segment; the position and reason of its first bad batch, if any.
  std::optional<std::pair<uint64_t, std::string>> check(const segment::Segment& s,
                                                        Offset& expected);
  // Sleeps so that the bytes read so far keep to the rate; false when stopping.
  bool pace(uint64_t bytes);
  bool sleep_for(std::chrono::steady_clock::duration d);

  TopicRegistry& topics_;
  const int64_t bytes_per_second_;
  Counters counters_;
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;                // guarded by mu_
  recovery::RepairFn repair_;            // guarded by mu_
  std::optional<Finding> last_finding_;  // guarded by mu_
  std::chrono::steady_clock::time_point pass_start_;
  uint64_t pass_bytes_ = 0;
};

}  // namespace sluice::broker
