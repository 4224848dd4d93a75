// Measures the machine's memory read bandwidth: the ceiling for decode, which streams the weights.
#pragma once

#include <cstdint>

namespace st {

// Best of `reps` timed passes reading a `bytes` buffer with `threads` threads; bytes per second.
double MeasureReadBandwidth(uint64_t bytes, int threads, int reps);

}  // namespace st
