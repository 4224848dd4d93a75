// Scalar row dots of the K-quants against Q8_K activations. Per super-block the integer part is
// exact: sumi = sum_j sc_j * (q_j · a_j) and, for Q4_K/Q5_K, summ = sum_j m_j * (bsums of sub-block j);
// then sum += (d * d_a) * sumi - (dmin * d_a) * summ, super-blocks in order.
#include <cstring>

#include "kernels/quant_blocks.h"
#include "kernels/scalar/scalar_kernels.h"
#include "util/half.h"

namespace st::scalar {
namespace {

// q (0..31) of the 256 weights of a Q4_K/Q5_K block in element order.
void UnpackQ4_K(const BlockQ4_K& b, uint8_t* q) {
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      q[64 * c + l] = b.qs[32 * c + l] & 0xF;
      q[64 * c + 32 + l] = b.qs[32 * c + l] >> 4;
    }
  }
}

void UnpackQ5_K(const BlockQ5_K& b, uint8_t* q) {
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      q[64 * c + l] = static_cast<uint8_t>((b.qs[32 * c + l] & 0xF) | (((b.qh[l] >> (2 * c)) & 1) << 4));
      q[64 * c + 32 + l] = static_cast<uint8_t>((b.qs[32 * c + l] >> 4) | (((b.qh[l] >> (2 * c + 1)) & 1) << 4));
    }
  }
}

// The shared tail of Q4_K and Q5_K: scales/mins, integer sums, float accumulation.
float SuperBlockSum(uint16_t d16, uint16_t dmin16, const uint8_t* scales, const uint8_t* q, const BlockQ8_K& a) {
  int32_t sumi = 0, summ = 0;
  for (int j = 0; j < 8; ++j) {
    uint8_t sc, m;
    UnpackScaleMinK4(j, scales, &sc, &m);
    int32_t dot = 0;
    for (int l = 0; l < 32; ++l) dot += q[32 * j + l] * a.qs[32 * j + l];
    sumi += sc * dot;
    summ += m * (a.bsums[2 * j] + a.bsums[2 * j + 1]);
  }
  return (HalfToFloat(d16) * a.d) * static_cast<float>(sumi) - (HalfToFloat(dmin16) * a.d) * static_cast<float>(summ);
}

// Q4_K and Q5_K share the super-block layout of scales and mins; only the unpacking differs.
template <typename Block, void (*kUnpack)(const Block&, uint8_t*)>
float DotScaleMinK(const uint8_t* row, int64_t n, const void* act) {
  const auto* a8 = static_cast<const uint8_t*>(act);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    Block b;
    std::memcpy(&b, row + i * sizeof(Block), sizeof(b));
    uint8_t q[kQK_K];
    kUnpack(b, q);
    BlockQ8_K a;
    std::memcpy(&a, a8 + i * sizeof(BlockQ8_K), sizeof(a));  // activations may be unaligned
    sum += SuperBlockSum(b.d, b.dmin, b.scales, q, a);
  }
  return sum;
}

}  // namespace

float DotQ4_K(const uint8_t* row, int64_t n, const void* act) { return DotScaleMinK<BlockQ4_K, UnpackQ4_K>(row, n, act); }

float DotQ5_K(const uint8_t* row, int64_t n, const void* act) { return DotScaleMinK<BlockQ5_K, UnpackQ5_K>(row, n, act); }

float DotQ6_K(const uint8_t* row, int64_t n, const void* act) {
  const auto* a8 = static_cast<const uint8_t*>(act);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    BlockQ6_K b;
    std::memcpy(&b, row + i * sizeof(BlockQ6_K), sizeof(b));
    int8_t q[kQK_K];
    for (int h = 0; h < 2; ++h) {
      const uint8_t* ql = b.ql + 64 * h;
      const uint8_t* qh = b.qh + 32 * h;
      int8_t* qq = q + 128 * h;
      for (int l = 0; l < 32; ++l) {
        qq[l] = static_cast<int8_t>(((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
        qq[l + 32] = static_cast<int8_t>(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
        qq[l + 64] = static_cast<int8_t>(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
        qq[l + 96] = static_cast<int8_t>(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
      }
    }
    BlockQ8_K a;
    std::memcpy(&a, a8 + i * sizeof(BlockQ8_K), sizeof(a));
    int32_t sumi = 0;
    for (int s = 0; s < 16; ++s) {
      int32_t dot = 0;
      for (int l = 0; l < 16; ++l) dot += q[16 * s + l] * a.qs[16 * s + l];
      sumi += b.scales[s] * dot;
    }
    sum += (HalfToFloat(b.d) * a.d) * static_cast<float>(sumi);
  }
  return sum;
}

}  // namespace st::scalar
