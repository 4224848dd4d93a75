// Small vector operations of the forward pass that know nothing about the model.
#pragma once

#include <cstdint>

namespace st {

// out = x / sqrt(mean(x^2) + eps) * w, n elements; the sum of squares is accumulated in double.
// out may alias x.
void RmsNorm(const float* x, const float* w, int64_t n, float eps, float* out);

// Fills cos/sin tables for NeoX RoPE at position `pos`: angle_i = pos * theta^(-2i/dh), i < dh/2.
// Angles are computed in double so long contexts do not lose precision.
void RopeAngles(int64_t pos, int64_t head_dim, float theta, float* cos_out, float* sin_out);

// NeoX rotation of one head in place: pairs (i, i + dh/2) rotated by angle_i.
void RopeNeox(float* head, int64_t head_dim, const float* cos_t, const float* sin_t);

}  // namespace st
