// Minimal NumPy .npy (format 1.0) writer and reader for float32 C-order arrays.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "smallthinker/status.h"

namespace st {

// Writes `data` (product(shape) floats) as a little-endian float32 array of `shape`.
Status WriteNpyF32(const std::string& path, const float* data, const std::vector<uint64_t>& shape);

struct NpyArray {
  std::vector<uint64_t> shape;
  std::vector<float> data;
};
// Reads a little-endian float32, C-order .npy file (format 1.0 or 2.0).
Result<NpyArray> ReadNpyF32(const std::string& path);

}  // namespace st
