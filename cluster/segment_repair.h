#pragma once

// Repair of a damaged sealed segment from another replica's copy (docs/CLUSTER.md, "Repair
// from a replica"): GET /v1/replica/topics/{t}/partitions/{p}/segments/{base}?position=P on
// each source in turn; the first answer that checks out (recovery::check_replacement) replaces
// the damaged bytes, which go to quarantine first with a note naming that broker.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cluster/metadata.h"
#include "recovery/damage.h"

namespace boost::asio::ssl {
class context;
}

namespace sluice::cluster {

// A broker that may hold a good copy: an in-sync replica of the partition other than this one.
struct RepairSource {
  int32_t broker = -1;
  std::string url;  // its advertised http[s]://host:port
};

// The in-sync replicas of a partition in state `state` other than `self` whose URL `url_of`
// knows (registered brokers), its leader first: where a good copy may be.
std::vector<RepairSource> repair_sources(
    const PartitionState& state, int32_t self,
    const std::function<std::optional<std::string>(int32_t)>& url_of);

// Blocking (its own io_context): each source gets at most `timeout` to answer.
// `cluster_token` is cluster.auth.token (empty for none); `tls` the context for sources with
// https URLs (ClusterNode::peer_tls()).
recovery::RepairOutcome repair_from(const recovery::SegmentDamage& damage,
                                    const std::vector<RepairSource>& sources,
                                    const std::string& cluster_token,
                                    const std::shared_ptr<boost::asio::ssl::context>& tls,
                                    std::chrono::milliseconds timeout);

}  // namespace sluice::cluster
