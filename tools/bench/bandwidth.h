// Measures the machine's memory read bandwidth: the ceiling for decode, which streams the weights.
#pragma once

#include <cstdint>

#include "smallthinker/status.h"

namespace st {

// Best of `reps` timed passes reading a `bytes` buffer with `threads` threads; bytes per second.
// Errors: the buffer is larger than the machine's memory, or cannot be reserved
// (ResourceExhausted, with both sizes).
Result<double> MeasureReadBandwidth(uint64_t bytes, int threads, int reps);

}  // namespace st
