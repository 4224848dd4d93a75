// Block layouts of the quantized formats (bit-exact with ggml).
//
// Q4_0: 32 weights in 18 bytes: fp16 scale d, then 16 bytes; element j (0..15) is
//       (qs[j] & 0xF) - 8, element j+16 is (qs[j] >> 4) - 8; value = d * q.
// Q8_0: 32 weights in 34 bytes: fp16 scale d = amax/127, then 32 int8 q = round(x/d).
//
// K-quants: super-blocks of 256 weights (QK_K), split into sub-blocks with 6-bit (Q4_K, Q5_K) or
// 8-bit (Q6_K) scales; activations for their dot products are Q8_K.
//
// Q4_K (144 bytes): fp16 d, fp16 dmin, 12 bytes of packed 6-bit scales/mins (8 of each, see
//       UnpackScaleMinK4), 128 bytes of nibbles. Sub-block j (32 weights) has scale sc_j and min m_j;
//       weight = d*sc_j*q - dmin*m_j with q in 0..15. The 256 weights are 4 chunks of 64: chunk c
//       uses qs[32c .. 32c+31]; its low nibbles are weights 64c+l (sub-block 2c), its high nibbles
//       weights 64c+32+l (sub-block 2c+1), l in 0..31.
// Q5_K (176 bytes): as Q4_K plus qh[32] (between scales and qs): bit 2c of qh[l] is bit 4 of weight
//       64c+l, bit 2c+1 of qh[l] is bit 4 of weight 64c+32+l; q in 0..31.
// Q6_K (210 bytes): ql[128], qh[64], int8 scales[16] (one per 16 weights), fp16 d; weight =
//       d*scales[i/16]*(q-32) with q in 0..63. Halves of 128: for half h, l in 0..31, with
//       ql' = ql + 64h, qh' = qh + 32h, weights 128h + l + {0, 32, 64, 96} have low 4 bits
//       {ql'[l] & 15, ql'[l+32] & 15, ql'[l] >> 4, ql'[l+32] >> 4} and high 2 bits
//       {qh'[l] >> 0, >> 2, >> 4, >> 6} & 3.
// Q8_K (292 bytes, activations only): f32 d, int8 qs[256], int16 bsums[16] (sum of each 16 qs).
#pragma once

#include <cstdint>

namespace st {

inline constexpr int kQK4_0 = 32;
inline constexpr int kQK8_0 = 32;
inline constexpr int kQK_K = 256;

struct BlockQ4_0 {
  uint16_t d;       // fp16 scale
  uint8_t qs[16];   // nibbles: low = elements 0..15, high = elements 16..31
};
static_assert(sizeof(BlockQ4_0) == 18);

struct BlockQ8_0 {
  uint16_t d;       // fp16 scale
  int8_t qs[32];
};
static_assert(sizeof(BlockQ8_0) == 34);

struct BlockQ4_K {
  uint16_t d;           // fp16 super-block scale of the sub-block scales
  uint16_t dmin;        // fp16 super-block scale of the sub-block mins
  uint8_t scales[12];   // 8 scales and 8 mins, 6 bits each
  uint8_t qs[128];      // nibbles
};
static_assert(sizeof(BlockQ4_K) == 144);

struct BlockQ5_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];
  uint8_t qh[32];       // fifth bits
  uint8_t qs[128];      // low nibbles
};
static_assert(sizeof(BlockQ5_K) == 176);

struct BlockQ6_K {
  uint8_t ql[128];      // low 4 bits
  uint8_t qh[64];       // high 2 bits
  int8_t scales[16];    // one per 16 weights
  uint16_t d;           // fp16
};
static_assert(sizeof(BlockQ6_K) == 210);

struct BlockQ8_K {
  float d;
  int8_t qs[256];
  int16_t bsums[16];    // bsums[i] = sum of qs[16i .. 16i+15]
};
static_assert(sizeof(BlockQ8_K) == 292);

// Scale and min of sub-block j (0..7) from the 12 packed bytes of Q4_K/Q5_K (ggml's get_scale_min_k4).
// Only for plain C++ files: SIMD files decode scales with their own vector code.
inline void UnpackScaleMinK4(int j, const uint8_t* q, uint8_t* sc, uint8_t* m) {
  if (j < 4) {
    *sc = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

}  // namespace st
