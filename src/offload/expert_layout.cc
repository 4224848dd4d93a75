#include "offload/expert_layout.h"

namespace st {

namespace {
constexpr uint64_t kPage = 4096;
uint64_t PadPage(uint64_t n) { return (n + kPage - 1) / kPage * kPage; }
}  // namespace

ExpertLayout ExpertLayout::FromGguf(const Model& model) {
  ExpertLayout l;
  const ModelWeights& w = model.weights();
  l.n_layer_ = model.config().n_layer;
  l.n_expert_ = model.config().n_expert;
  const LayerWeights& L0 = w.layers[0];
  l.shape_ = {L0.gate_exps.Expert(0), L0.up_exps.Expert(0), L0.down_exps.Expert(0)};
  for (int m = 0; m < 3; ++m) {
    l.matrix_bytes_[m] = l.shape_[m].bytes();
    l.shape_[m].data = nullptr;
    l.shape_[m].file_offset = 0;
  }
  for (const LayerWeights& L : w.layers) {
    l.gguf_offsets_.push_back({L.gate_exps.file_offset, L.up_exps.file_offset, L.down_exps.file_offset});
  }
  return l;
}

std::array<ByteRange, 3> ExpertLayout::Ranges(uint32_t il, uint32_t e) const {
  std::array<ByteRange, 3> r;
  for (int m = 0; m < 3; ++m) {
    if (expert_file_) {
      const uint64_t block = file_data_offset_ + (static_cast<uint64_t>(il) * n_expert_ + e) * ExpertFileBlockBytes();
      r[m] = {block + ExpertFileMatrixOffset(m), matrix_bytes_[m]};
    } else {
      r[m] = {gguf_offsets_[il][m] + static_cast<uint64_t>(e) * matrix_bytes_[m], matrix_bytes_[m]};
    }
  }
  return r;
}

WeightMatrix ExpertLayout::Matrix(int m, const uint8_t* data) const {
  WeightMatrix w = shape_[m];
  w.data = data;
  return w;
}

void ExpertLayout::UseExpertFile(uint64_t data_offset) {
  expert_file_ = true;
  file_data_offset_ = data_offset;
}

uint64_t ExpertLayout::ExpertFileBlockBytes() const {
  return PadPage(matrix_bytes_[0]) + PadPage(matrix_bytes_[1]) + PadPage(matrix_bytes_[2]);
}

uint64_t ExpertLayout::ExpertFileMatrixOffset(int m) const {
  uint64_t off = 0;
  for (int i = 0; i < m; ++i) off += PadPage(matrix_bytes_[i]);
  return off;
}

}  // namespace st
