#include "broker/topic_pattern.h"

#include <fmt/format.h>
#include <re2/re2.h>

namespace sluice::broker {

DetailedResult<TopicPattern> TopicPattern::compile(std::string_view pattern) {
  if (pattern.size() > kMaxBytes) {
    return DetailedError(ConsumerErrc::invalid_pattern,
                         fmt::format("topic_pattern is {} bytes long; the limit is {} bytes",
                                     pattern.size(), kMaxBytes));
  }
  RE2::Options options;
  options.set_log_errors(false);  // the reason goes back to the client instead
  auto re = std::make_unique<const RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!re->ok()) {
    return DetailedError(ConsumerErrc::invalid_pattern,
                         fmt::format("topic_pattern '{}' is not a valid regular expression: {}",
                                     pattern, re->error()));
  }
  return TopicPattern(std::move(re));
}

TopicPattern::TopicPattern(std::unique_ptr<const RE2> re) : re_(std::move(re)) {}
TopicPattern::TopicPattern(TopicPattern&&) noexcept = default;
TopicPattern& TopicPattern::operator=(TopicPattern&&) noexcept = default;
TopicPattern::~TopicPattern() = default;

bool TopicPattern::matches(std::string_view topic) const {
  return RE2::FullMatch(re2::StringPiece(topic.data(), topic.size()), *re_);
}

}  // namespace sluice::broker
