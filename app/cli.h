#pragma once

namespace sluice::app {

// `sluice <command> [options]`: parses the command line and runs the command (see
// app/commands.h); returns the process's exit code. `--help` works for every command.
int run(int argc, char** argv);

}  // namespace sluice::app
