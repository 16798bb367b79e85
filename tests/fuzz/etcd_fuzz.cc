// etcd's answers, and the values other brokers wrote there, are bytes from other processes:
// every parser must turn any input into a value or an error, never a crash. The first byte
// picks the parser.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cluster/etcd_codec.h"
#include "cluster/metadata.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice::cluster;
  if (size == 0) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 11) {
    case 0:
      (void)parse_range(body);
      break;
    case 1:
      (void)parse_txn(body);
      break;
    case 2:
      (void)parse_lease_grant(body);
      break;
    case 3:
      (void)parse_lease_keepalive(body);
      break;
    case 4:
      (void)parse_watch_line(body);
      break;
    case 5:
      (void)parse_header_only(body);
      break;
    case 6: {
      std::string message;
      (void)parse_error(data[0], body, message);
      break;
    }
    case 7:
      (void)parse_broker_registration(body);
      break;
    case 8:
      (void)parse_topic_assignment(body);
      break;
    case 9:
      (void)parse_partition_state(body);
      break;
    default:
      (void)parse_cluster_id(body);
      break;
  }
  return 0;
}
