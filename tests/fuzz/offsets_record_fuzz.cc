// libFuzzer target: the records of __consumer_offsets (commits and, in cluster mode, consumer
// instances), which a coordinator replays from a log that other brokers wrote. Whatever
// decodes must encode back to the same bytes; nothing may crash.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "broker/offsets_store.h"
#include "common/check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice::broker;
  // The first byte splits the input into a key and a value (its high bit: a null value).
  if (size < 1) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t split = std::min<size_t>(data[0] & 0x7f, in.size());
  const std::string_view key = in.substr(0, split);
  std::optional<std::string_view> value;
  if ((data[0] & 0x80) == 0) value = in.substr(split);
  if (value) {
    if (auto commit = decode_commit(key, *value)) {
      SLUICE_CHECK(encode_commit_key(*commit) == key && encode_commit_value(*commit) == *value,
                   "a commit round-trips");
    }
  }
  if (auto instance = decode_instance(key, value)) {
    SLUICE_CHECK(encode_instance_key(instance->group, instance->instance) == key,
                 "an instance key round-trips");
    SLUICE_CHECK(instance->state.has_value() == value.has_value(), "a tombstone has no value");
    if (instance->state) {
      auto again = decode_instance(key, encode_instance_value(*instance->state));
      SLUICE_CHECK(again && again->state == instance->state, "an instance state round-trips");
    }
  }
  return 0;
}
