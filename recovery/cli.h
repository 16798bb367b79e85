#pragma once

namespace sluice::recovery {

// Command-line entry points; `sluice <subcommand> ...` passes argv after the subcommand name.
// Each returns the process exit code and writes errors to stderr.

// verify --log-dir DIR [--topic T] [--json]: checks every partition strictly read-only (no file
// is opened for writing, nothing is created) and prints a table or JSON. Exit 0 when clean,
// 1 when anything is wrong (corrupt or torn batches, bad or missing indexes, stray files),
// 2 on a usage error.
int run_verify(int argc, char** argv);

// recover --log-dir DIR [--log-dir DIR2 ...] [--threads N] [--mode full|checkpoint]: the
// start-up recovery without the server; prints the summary. Exit 0, 1 if it failed, 2 on a
// usage error.
int run_recover(int argc, char** argv);

// dump FILE.log|FILE.index|FILE.timeindex [--print-data]: prints batches (and with
// --print-data their records) or index entries, like Kafka's DumpLogSegments. Exit 1 when the
// file is corrupt (after printing the error and its position), 2 on a usage error.
int run_dump(int argc, char** argv);

}  // namespace sluice::recovery
