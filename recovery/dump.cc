// `sluice dump`: prints a segment's batches and records or an index's entries.

#include <fmt/format.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/file.h"
#include "index/format.h"
#include "recovery/cli.h"
#include "segment/batch.h"
#include "segment/segment.h"

namespace sluice::recovery {
namespace {

namespace fs = std::filesystem;

// Printable ASCII as is; backslash and every other byte as \\ or \xNN.
std::string escape(std::string_view s) {
  std::string out;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\\') {
      out += "\\\\";
    } else if (u < 0x20 || u >= 0x7f) {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out += c;
    }
  }
  return out;
}

std::string escape(const std::optional<std::string_view>& s) {
  return s ? escape(*s) : std::string("null");
}

void print_records(std::span<const std::byte> batch, std::string_view ts_label) {
  segment::RecordReader reader(batch);
  std::vector<segment::HeaderView> headers;
  while (auto r = reader.next()) {
    r->headers(headers);
    std::string hs;
    for (const auto& h : headers) {
      if (!hs.empty()) hs += ", ";
      hs += fmt::format("{}={}", escape(h.key), escape(h.value));
    }
    fmt::print("| offset: {} {}: {} key: {} value: {} headers: [{}]\n", r->offset.value, ts_label,
               r->timestamp_ms, escape(r->key), escape(r->value), hs);
  }
}

int dump_log(std::string_view bytes, bool print_data) {
  const std::span data(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size());
  uint64_t pos = 0;
  while (pos < data.size()) {
    auto h = segment::validate_batch(data.subspan(pos));
    if (!h) {
      fmt::print("error at position {}: {}\n", pos, h.error().message());
      return 1;
    }
    const bool append_time = h->timestamp_type() == TimestampType::log_append_time;
    const std::string_view label = append_time ? "LogAppendTime" : "CreateTime";
    fmt::print(
        "baseOffset: {} lastOffset: {} count: {} position: {} {}: {} size: {} checksum: "
        "{:016x} valid: true\n",
        h->base_offset.value, h->last_offset().value, h->record_count, pos, label, h->max_timestamp,
        h->size_bytes(), h->checksum);
    if (print_data) print_records(data.subspan(pos, h->size_bytes()), label);
    pos += h->size_bytes();
  }
  return 0;
}

// Prints the entries the index holds: the first one and every one that continues it (the
// zeros of a preallocated file are free space, as index::OffsetIndex reads them).
template <class Layout, class Print>
int dump_index(std::string_view bytes, Offset base, Print print) {
  const auto* p = reinterpret_cast<const std::byte*>(bytes.data());
  const size_t slots = bytes.size() / Layout::kEntrySize;
  std::optional<typename Layout::Entry> prev;
  for (size_t i = 0; i < slots; ++i) {
    const auto e = Layout::decode(p + i * Layout::kEntrySize, base);
    if (prev && !Layout::continues(*prev, e, base)) break;
    if (prev && !Layout::ordered(*prev, e)) {
      fmt::print("error at position {}: index entries out of order\n", i * Layout::kEntrySize);
      return 1;
    }
    print(e);
    prev = e;
  }
  if (bytes.size() % Layout::kEntrySize != 0) {
    fmt::print("error at position {}: partial entry\n", slots * Layout::kEntrySize);
    return 1;
  }
  return 0;
}

// Fills `path` and `print_data`; false after printing a usage error.
bool parse_dump_args(int argc, char** argv, std::optional<fs::path>& path, bool& print_data) {
  for (int i = 0; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--print-data") {
      print_data = true;
    } else if (!path && !arg.starts_with("--")) {
      path = arg;
    } else {
      fmt::print(stderr, "sluice dump: unexpected argument '{}'\n", arg);
      return false;
    }
  }
  if (!path) {
    fmt::print(stderr,
               "sluice dump: usage: dump FILE.log|FILE.index|FILE.timeindex [--print-data]\n");
    return false;
  }
  return true;
}

}  // namespace

int run_dump(int argc, char** argv) {
  std::optional<fs::path> path;
  bool print_data = false;
  if (!parse_dump_args(argc, argv, path, print_data)) return 2;
  const std::string name = path->filename().string();
  const std::string ext = path->extension().string();
  if (ext != segment::kLogSuffix && ext != segment::kIndexSuffix &&
      ext != segment::kTimeIndexSuffix) {
    fmt::print(stderr, "sluice dump: {} is not a .log, .index or .timeindex file\n", name);
    return 2;
  }
  auto bytes = read_file(*path);
  if (!bytes) {
    fmt::print(stderr, "sluice dump: {}: {}\n", path->string(), bytes.error().message());
    return 1;
  }
  const Offset base = segment::parse_segment_file_name(name, ext).value_or(Offset{0});
  fmt::print("Dumping {}\n", path->string());
  if (ext == segment::kLogSuffix) return dump_log(*bytes, print_data);
  if (ext == segment::kIndexSuffix) {
    return dump_index<index::OffsetLayout>(*bytes, base, [](const index::OffsetEntry& e) {
      fmt::print("offset: {} position: {}\n", e.offset.value, e.position.value);
    });
  }
  return dump_index<index::TimeLayout>(*bytes, base, [](const index::TimeEntry& e) {
    fmt::print("timestamp: {} offset: {}\n", e.timestamp_ms, e.offset.value);
  });
}

}  // namespace sluice::recovery
