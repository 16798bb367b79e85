#pragma once

namespace sluice::recovery {

// Command-line entry points; `sluice <subcommand> ...` passes argv after the subcommand name.
// Each returns the process exit code and writes errors to stderr.

// Both verify and recover take the broker's settings (log.dirs, topic defaults, threads, mode)
// from --config FILE when given, else the built-in defaults; --log-dir replaces log.dirs, and
// each partition's topic.properties is layered over the topic defaults.

// verify --log-dir DIR [--config FILE] [--topic T] [--json]: checks every partition strictly
// read-only (no file is opened for writing, nothing is created) and prints a table or JSON. Exit 0
// when clean, 1 when anything is wrong (corrupt or torn batches, bad or missing indexes, stray
// files), 2 on a usage error.
int run_verify(int argc, char** argv);

// recover --log-dir DIR [--log-dir DIR2 ...] [--config FILE] [--threads N]
// [--mode full|checkpoint]: the
// start-up recovery without the server; prints the summary. Exit 0, 1 if it failed, 2 on a
// usage error.
int run_recover(int argc, char** argv);

// dump FILE.log|FILE.index|FILE.timeindex [--print-data]: prints batches (and with
// --print-data their records) or index entries, like Kafka's DumpLogSegments. Exit 1 when the
// file is corrupt (after printing the error and its position), 2 on a usage error.
int run_dump(int argc, char** argv);

}  // namespace sluice::recovery
