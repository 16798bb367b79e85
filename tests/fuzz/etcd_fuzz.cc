// etcd's answers are bytes from another process: every parser must turn any input into a
// value or an error, never a crash. The first byte picks the parser.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cluster/etcd_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice::cluster;
  if (size == 0) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 7) {
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
    default: {
      std::string message;
      (void)parse_error(data[0], body, message);
      break;
    }
  }
  return 0;
}
