// The shared body of the text fuzzers: a failed check (text_fuzz_checks.h) aborts, so libFuzzer
// keeps the input as a crash; the sanitizers catch the rest.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

namespace st::fuzz {

inline void FailIf(const char* target, const std::string& violation) {
  if (violation.empty()) return;
  std::fprintf(stderr, "%s: %s\n", target, violation.c_str());
  std::abort();
}

}  // namespace st::fuzz
