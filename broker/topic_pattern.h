#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

#include "broker/errors.h"

namespace re2 {
class RE2;
}

namespace sluice::broker {

// A consumer's `topic_pattern`, compiled once. RE2 syntax, which is Java's (what Kafka clients
// send) without backreferences and lookaround, matched against the whole topic name. RE2 runs
// in time linear in the name, whatever the pattern: a client's pattern is matched under the
// consumer coordinator's lock, where a backtracking engine could stall every group. Immutable;
// safe to use from any thread.
class TopicPattern {
 public:
  static constexpr size_t kMaxBytes = 1024;  // longer patterns are refused

  // The compiled pattern, or ConsumerErrc::invalid_pattern with a detail naming the problem
  // (too long, or not valid).
  [[nodiscard]] static DetailedResult<TopicPattern> compile(std::string_view pattern);

  bool matches(std::string_view topic) const;

  TopicPattern(TopicPattern&&) noexcept;
  TopicPattern& operator=(TopicPattern&&) noexcept;
  ~TopicPattern();

 private:
  explicit TopicPattern(std::unique_ptr<const re2::RE2> re);

  std::unique_ptr<const re2::RE2> re_;
};

}  // namespace sluice::broker
