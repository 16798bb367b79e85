#pragma once

#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "common/check.h"

namespace sluice {

// Writes Prometheus's text exposition format (version 0.0.4) the way `promtool check metrics`
// wants it: every family once, its HELP and TYPE lines first and all of its samples right after
// them, label values escaped. Call family(), then its samples, then the next family(); naming a
// family a second time is a bug. Counter names end in `_total`, no other type's may (checked).
// Not thread-safe: one writer per rendering.
class PrometheusWriter {
 public:
  enum class Type { counter, gauge, histogram };
  using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

  // Starts the family `name`; the samples that follow belong to it.
  void family(std::string_view name, Type type, std::string_view help) {
    SLUICE_CHECK(families_.emplace(name).second, "metric family {} written twice", name);
    SLUICE_CHECK((type == Type::counter) == name.ends_with("_total"),
                 "{}: only counters end in _total", name);
    name_ = name;
    type_ = type;
    out_ +=
        fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, escape_help(help), name, type_name(type));
  }

  // One sample of a counter or gauge.
  template <class Value>
  void sample(Labels labels, Value value) {
    SLUICE_CHECK(!name_.empty() && type_ != Type::histogram, "sample outside a family");
    line("", labels, {}, format_value(value));
  }

  // One histogram series: `upper_bounds` and the cumulative count of observations at or below
  // each, then the sum and the total count (the +Inf bucket).
  void histogram(Labels labels, std::span<const double> upper_bounds,
                 std::span<const uint64_t> cumulative, double sum, uint64_t count) {
    SLUICE_CHECK(type_ == Type::histogram && upper_bounds.size() == cumulative.size(),
                 "histogram {} misused", name_);
    for (size_t i = 0; i < upper_bounds.size(); ++i) {
      line("_bucket", labels, format_value(upper_bounds[i]), format_value(cumulative[i]));
    }
    line("_bucket", labels, "+Inf", format_value(count));
    line("_sum", labels, {}, format_value(sum));
    line("_count", labels, {}, format_value(count));
  }

  const std::string& text() const { return out_; }
  std::string take() { return std::move(out_); }

  // A label value with backslash, double quote and newline escaped, as the format requires.
  static std::string escape_label_value(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (const char c : v) {
      if (c == '\\' || c == '"') {
        out += '\\';
        out += c;
      } else if (c == '\n') {
        out += "\\n";
      } else {
        out += c;
      }
    }
    return out;
  }

 private:
  static std::string_view type_name(Type type) {
    switch (type) {
      case Type::counter:
        return "counter";
      case Type::gauge:
        return "gauge";
      case Type::histogram:
        return "histogram";
    }
    return "untyped";
  }

  // HELP text escapes backslash and newline only.
  static std::string escape_help(std::string_view help) {
    std::string out;
    for (const char c : help) {
      if (c == '\\') {
        out += "\\\\";
      } else if (c == '\n') {
        out += "\\n";
      } else {
        out += c;
      }
    }
    return out;
  }

  static std::string format_value(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    return fmt::format("{}", v);
  }
  template <class Int>
  static std::string format_value(Int v) requires std::is_integral_v<Int> {
    return fmt::format("{}", v);
  }

  void line(std::string_view suffix, Labels labels, std::string_view le, std::string_view value) {
    out_ += name_;
    out_ += suffix;
    if (labels.size() != 0 || !le.empty()) {
      out_ += '{';
      bool first = true;
      for (const auto& [key, v] : labels) {
        if (!first) out_ += ',';
        first = false;
        out_ += fmt::format("{}=\"{}\"", key, escape_label_value(v));
      }
      if (!le.empty()) out_ += fmt::format("{}le=\"{}\"", first ? "" : ",", le);
      out_ += '}';
    }
    out_ += ' ';
    out_ += value;
    out_ += '\n';
  }

  std::string out_;
  std::string name_;  // the family being written
  Type type_ = Type::gauge;
  std::set<std::string, std::less<>> families_;
};

}  // namespace sluice
