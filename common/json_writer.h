#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/json_string.h"

namespace sluice {

// Appends JSON to a string. The caller opens and closes objects and arrays in order; commas
// are inserted automatically. Strings are escaped per RFC 8259.
class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& begin_object() { return open('{'); }
  JsonWriter& end_object() { return close('}'); }
  JsonWriter& begin_array() { return open('['); }
  JsonWriter& end_array() { return close(']'); }
  // The next value is this member of the current object.
  JsonWriter& key(std::string_view name);

  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(const std::string& s) { return value(std::string_view(s)); }
  JsonWriter& value(int64_t n);
  JsonWriter& value(int32_t n) { return value(static_cast<int64_t>(n)); }
  JsonWriter& value(uint64_t n);
  JsonWriter& value(bool b);
  JsonWriter& null();
  JsonWriter& value(const std::optional<std::string_view>& s) { return s ? value(*s) : null(); }
  // Inserts text that is already JSON.
  JsonWriter& raw(std::string_view json);

 private:
  JsonWriter& open(char c);
  JsonWriter& close(char c);
  void separate();

  std::string& out_;
  bool need_comma_ = false;
};

using sluice::append_json_string;

// Whether s is a single valid JSON value (for rendering stored JSON-format keys and values).
bool is_valid_json(std::string_view s);

}  // namespace sluice
