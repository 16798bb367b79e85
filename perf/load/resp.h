#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sluice::load {

// What one RESP reply held, as far as the load generator cares.
struct RespReply {
  int64_t elements = 0;      // entries of a top-level array (XRANGE: records returned)
  std::string_view last_id;  // XRANGE: the id of the last entry (a view into the buffer)
  bool error = false;        // a '-' error reply somewhere in it
};

// Scans one complete RESP2 reply at the start of `buffer`. Returns its length in bytes, 0 when
// the buffer does not hold all of it yet, or SIZE_MAX when the bytes are not RESP.
size_t scan_resp(std::string_view buffer, RespReply& out);

// RESP commands, as a client sends them.
void append_xadd(std::string& out, std::string_view key, std::string_view value);
void append_xrange(std::string& out, std::string_view key, std::string_view start, int count);

}  // namespace sluice::load
