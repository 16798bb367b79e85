#pragma once

// For the cluster's parsers of bytes from other processes: etcd's answers (etcd_codec.cc) and
// the values brokers store in etcd (metadata.cc).
#include <simdjson.h>

#include <string_view>

#include "common/result.h"

namespace sluice::cluster::detail {

// The JSON object `json` holds, parsed by this thread's parser (the bytes are copied into its
// padded buffer; the object is valid until the thread's next parse), or EtcdErrc::bad_answer.
Result<simdjson::dom::object> parse_object(std::string_view json);

}  // namespace sluice::cluster::detail
