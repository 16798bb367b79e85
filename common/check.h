#pragma once

#include <fmt/format.h>

#include <cstdlib>

// Aborts with a message when an internal invariant is broken. Never for input from disk or the
// network: those are errors, returned as Result.
#define SLUICE_CHECK(cond, ...)                                                      \
  do {                                                                               \
    if (!(cond)) [[unlikely]] {                                                      \
      fmt::print(stderr, "{}:{}: check failed: {}: {}\n", __FILE__, __LINE__, #cond, \
                 fmt::format(__VA_ARGS__));                                          \
      std::abort();                                                                  \
    }                                                                                \
  } while (false)
