// TK_CANNOT_RUN(reason): a test that cannot run on this machine (not root, a
// tool missing). CI runs as root with every tool installed, so under CI=true
// that fails the test; elsewhere it is skipped with the reason. Use it in the
// test body itself: FAIL and GTEST_SKIP return from the enclosing function.
#pragma once

#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#define TK_CANNOT_RUN(reason)                                                                      \
  do {                                                                                             \
    if (const char* tk_ci = std::getenv("CI"); tk_ci != nullptr && std::string(tk_ci) == "true") { \
      FAIL() << "cannot run under CI=true: " << (reason);                                          \
    }                                                                                              \
    GTEST_SKIP() << (reason);                                                                      \
  } while (0)
