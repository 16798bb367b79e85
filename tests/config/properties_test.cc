#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "config/config.h"

namespace sluice::config {
namespace {

using ::testing::HasSubstr;
using Map = std::map<std::string, std::string>;

std::string error_of(std::string_view text, std::string_view source = "test.properties") {
  try {
    parse_properties(text, source);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(PropertiesTest, ParsesEqualsAndColonSeparators) {
  EXPECT_EQ(parse_properties("a=1\nb: 2\nc:3\n", "t"), (Map{{"a", "1"}, {"b", "2"}, {"c", "3"}}));
}

TEST(PropertiesTest, SkipsHashAndBangCommentsAndBlankLines) {
  EXPECT_EQ(parse_properties("# a=1\n\n   \n! b=2\n  # c=3\nd=4", "t"), (Map{{"d", "4"}}));
}

TEST(PropertiesTest, TrimsWhitespaceAroundKeysAndValues) {
  EXPECT_EQ(parse_properties("  a  =  one two \r\n\tb\t:\t2\t\r\n", "t"),
            (Map{{"a", "one two"}, {"b", "2"}}));
}

TEST(PropertiesTest, FirstSeparatorSplitsSoValuesMayContainSeparators) {
  EXPECT_EQ(parse_properties("listeners=http://h:1\nx: a=b", "t"),
            (Map{{"listeners", "http://h:1"}, {"x", "a=b"}}));
}

TEST(PropertiesTest, EmptyValueIsKept) {
  EXPECT_EQ(parse_properties("a=\nb:", "t"), (Map{{"a", ""}, {"b", ""}}));
}

TEST(PropertiesTest, LaterDuplicateWins) {
  EXPECT_EQ(parse_properties("a=1\na=2\n", "t"), (Map{{"a", "2"}}));
}

TEST(PropertiesTest, EmptyTextGivesEmptyMap) { EXPECT_TRUE(parse_properties("", "t").empty()); }

TEST(PropertiesTest, LineWithoutSeparatorNamesSourceAndLine) {
  const std::string e = error_of("# header\na=1\njust some words\n");
  EXPECT_THAT(e, HasSubstr("test.properties:3:"));
  EXPECT_THAT(e, HasSubstr("'just some words'"));
  EXPECT_THAT(e, HasSubstr("expected 'key=value'"));
}

TEST(PropertiesTest, EmptyKeyIsMalformed) {
  EXPECT_THAT(error_of("=value\n", "topic.properties"), HasSubstr("topic.properties:1:"));
  EXPECT_THAT(error_of("a=1\n  : value\n"), HasSubstr("test.properties:2:"));
}

}  // namespace
}  // namespace sluice::config
