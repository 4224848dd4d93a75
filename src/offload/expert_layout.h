// ExpertLayout: where the bytes of every expert live in a file, and the matrix shapes that turn
// those bytes back into weights.
//
// An expert (layer il, expert e) is three matrices: gate (F rows of E), up (F rows of E) and down
// (normal: E rows of F; transposed: F rows of E). In a GGUF file each is a contiguous slice of its
// ffn_*_exps tensor; in an expert file (expert_file.h) the three are one contiguous, 4 KiB-aligned
// block.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "model/model.h"

namespace st {

enum ExpertMatrix { kGateMatrix = 0, kUpMatrix = 1, kDownMatrix = 2 };

struct ByteRange {
  uint64_t offset = 0;  // absolute, in the file
  uint64_t size = 0;
};

class ExpertLayout {
 public:
  // The layout of the experts inside the model's own GGUF file.
  static ExpertLayout FromGguf(const Model& model);

  uint32_t n_layer() const { return n_layer_; }
  uint32_t n_expert() const { return n_expert_; }
  // The three byte ranges of expert (il, e) in the file.
  std::array<ByteRange, 3> Ranges(uint32_t il, uint32_t e) const;
  // Bytes of one matrix kind (equal for every expert of every layer).
  uint64_t MatrixBytes(int m) const { return matrix_bytes_[m]; }
  uint64_t ExpertBytes() const { return matrix_bytes_[0] + matrix_bytes_[1] + matrix_bytes_[2]; }
  // The weight matrix `m` of any expert with its data at `data` (shape and type only differ by m).
  WeightMatrix Matrix(int m, const uint8_t* data) const;

  // Replaces the GGUF offsets by those of an expert file: expert (il, e) is the block at
  // data_offset + (il * X + e) * block_bytes, its matrices at 4 KiB-aligned offsets inside it.
  void UseExpertFile(uint64_t data_offset);
  bool in_expert_file() const { return expert_file_; }
  // Bytes of one expert's block in an expert file (three 4 KiB-padded matrices).
  uint64_t ExpertFileBlockBytes() const;
  // Offset of matrix m inside an expert file block.
  uint64_t ExpertFileMatrixOffset(int m) const;

 private:
  uint32_t n_layer_ = 0, n_expert_ = 0;
  std::array<WeightMatrix, 3> shape_{};  // data pointers unused
  std::array<uint64_t, 3> matrix_bytes_{};
  std::vector<std::array<uint64_t, 3>> gguf_offsets_;  // [layer] -> offset of expert 0 of each matrix
  bool expert_file_ = false;
  uint64_t file_data_offset_ = 0;
};

}  // namespace st
