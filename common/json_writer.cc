#include "common/json_writer.h"

#include <fmt/format.h>
#include <simdjson.h>

namespace sluice {

void JsonWriter::separate() {
  if (need_comma_) out_.push_back(',');
  need_comma_ = true;
}

JsonWriter& JsonWriter::open(char c) {
  separate();
  out_.push_back(c);
  need_comma_ = false;
  return *this;
}

JsonWriter& JsonWriter::close(char c) {
  out_.push_back(c);
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::key(std::string_view name) {
  separate();
  append_json_string(out_, name);
  out_.push_back(':');
  need_comma_ = false;
  return *this;
}

JsonWriter& JsonWriter::value(std::string_view s) {
  separate();
  append_json_string(out_, s);
  return *this;
}

JsonWriter& JsonWriter::value(int64_t n) {
  separate();
  fmt::format_to(std::back_inserter(out_), "{}", n);
  return *this;
}

JsonWriter& JsonWriter::value(uint64_t n) {
  separate();
  fmt::format_to(std::back_inserter(out_), "{}", n);
  return *this;
}

JsonWriter& JsonWriter::value(bool b) {
  separate();
  out_ += b ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::null() {
  separate();
  out_ += "null";
  return *this;
}

JsonWriter& JsonWriter::raw(std::string_view json) {
  separate();
  out_ += json;
  return *this;
}

bool is_valid_json(std::string_view s) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element element;
  return parser.parse(s.data(), s.size(), true).get(element) == simdjson::SUCCESS;
}

}  // namespace sluice
