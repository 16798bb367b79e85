#include "perf/load/resp.h"

#include <fmt/format.h>

#include <charconv>
#include <cstdint>

namespace sluice::load {
namespace {

constexpr size_t kIncomplete = 0;
constexpr size_t kMalformed = SIZE_MAX;

// Scans the reply at `pos`; returns the position after it, kIncomplete or kMalformed. At depth
// 2 the first element of each entry is its id (XRANGE's [[id, [field, value...]], ...]).
size_t scan_at(std::string_view b, size_t pos, int depth, bool is_id, RespReply& out) {
  if (pos >= b.size()) return kIncomplete;
  const auto eol = b.find("\r\n", pos);
  if (eol == std::string_view::npos) return kIncomplete;
  const char type = b[pos];
  const std::string_view line = b.substr(pos + 1, eol - pos - 1);
  const size_t next = eol + 2;
  int64_t n = 0;
  switch (type) {
    case '+':
    case ':':
      return next;
    case '-':
      out.error = true;
      return next;
    case '$': {
      auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), n);
      if (ec != std::errc{}) return kMalformed;
      if (n < 0) return next;
      const size_t end = next + static_cast<size_t>(n) + 2;
      if (end > b.size()) return kIncomplete;
      if (is_id) out.last_id = b.substr(next, static_cast<size_t>(n));
      return end;
    }
    case '*': {
      auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), n);
      if (ec != std::errc{}) return kMalformed;
      if (depth == 0) out.elements = n < 0 ? 0 : n;
      size_t at = next;
      for (int64_t i = 0; i < n; ++i) {
        at = scan_at(b, at, depth + 1, depth == 1 && i == 0, out);
        if (at == kIncomplete || at == kMalformed) return at;
      }
      return at;
    }
    default:
      return kMalformed;
  }
}

void append_bulk(std::string& out, std::string_view s) {
  fmt::format_to(std::back_inserter(out), "${}\r\n", s.size());
  out += s;
  out += "\r\n";
}

}  // namespace

size_t scan_resp(std::string_view buffer, RespReply& out) {
  out = RespReply{};
  return scan_at(buffer, 0, 0, false, out);
}

void append_xadd(std::string& out, std::string_view key, std::string_view value) {
  out += "*5\r\n";
  append_bulk(out, "XADD");
  append_bulk(out, key);
  append_bulk(out, "*");
  append_bulk(out, "v");
  append_bulk(out, value);
}

void append_xrange(std::string& out, std::string_view key, std::string_view start, int count) {
  out += "*6\r\n";
  append_bulk(out, "XRANGE");
  append_bulk(out, key);
  append_bulk(out, start);
  append_bulk(out, "+");
  append_bulk(out, "COUNT");
  append_bulk(out, std::to_string(count));
}

}  // namespace sluice::load
