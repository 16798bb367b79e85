#pragma once

#include <string>
#include <string_view>

namespace sluice {

// Appends s to out as a quoted JSON string (RFC 8259), escaping quotes, backslashes and every
// control character. Bytes >= 0x80 pass through: stored keys and values are the client's.
inline void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  size_t run = 0;  // start of the current run of bytes that need no escaping
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f) continue;
    out.append(s.substr(run, i - run));
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += "\\u00";
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0xf]);
    }
  }
  out.append(s.substr(run));
  out.push_back('"');
}

inline std::string json_quote(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

}  // namespace sluice
