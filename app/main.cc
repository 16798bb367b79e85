// The sluice command: the broker (`sluice serve`) and the offline tools for its data
// directories (`verify`, `recover`, `dump`).
#include "app/cli.h"

int main(int argc, char** argv) { return sluice::app::run(argc, argv); }
