#pragma once

// Repair of a damaged sealed segment from another replica's copy (docs/CLUSTER.md, "Repair
// from a replica"): GET /v1/replica/topics/{t}/partitions/{p}/segments/{base}?position=P on
// each source in turn; the first answer that checks out (recovery::check_replacement) replaces
// the damaged bytes, which go to quarantine first with a note naming that broker.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "recovery/damage.h"

namespace sluice::cluster {

// A broker that may hold a good copy: an in-sync replica of the partition other than this one.
struct RepairSource {
  int32_t broker = -1;
  std::string url;  // its advertised http://host:port
};

// Blocking (its own io_context): each source gets at most `timeout` to answer.
// `cluster_token` is cluster.auth.token (empty for none).
recovery::RepairOutcome repair_from(const recovery::SegmentDamage& damage,
                                    const std::vector<RepairSource>& sources,
                                    const std::string& cluster_token,
                                    std::chrono::milliseconds timeout);

}  // namespace sluice::cluster
