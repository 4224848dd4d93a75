// The exponential of attention's softmax, element by element, written once as a template over a
// "lane" type so that the scalar specification and the SIMD kernels execute the same operations
// (explicit fused multiply-adds, no contraction left to the compiler) and give the same bits.
//
// Exp(x) for x <= 0 (a score minus the row maximum): n = nearest-even(x * log2(e)),
// r = x - n * ln2 (two-step Cody-Waite), p = degree-7 Taylor polynomial of e^r (Horner, |r| <= 0.35:
// error below 1e-8 relative), result p * 2^n; x < -87 gives 0 (below the normal range).
#pragma once

#include <cstdint>

namespace st::softmax {

inline constexpr float kLog2e = 1.44269504088896341f;
inline constexpr float kLn2Hi = 0.693145751953125f;       // ln 2 with the low bits cleared
inline constexpr float kLn2Lo = 1.428606765330187e-06f;   // ln 2 - kLn2Hi
inline constexpr float kMinArg = -87.0f;
// 1/k! for k = 7 .. 2, then 1, 1.
inline constexpr float kC7 = 1.98412698e-04f, kC6 = 1.38888889e-03f, kC5 = 8.33333333e-03f,
                       kC4 = 4.16666667e-02f, kC3 = 1.66666667e-01f, kC2 = 0.5f;

// L provides, per lane: Set(float), Fma(a, b, c) = a * b + c rounded once, Mul, Max(x, c) (c when x
// is NaN), RoundEven, Pow2(n) (the float with exponent bits n + 127, n integral), and
// ZeroBelow(x, v) = (x < kMinArg ? 0 : v).
template <class L>
inline typename L::V Exp(typename L::V x) {
  using V = typename L::V;
  const V xc = L::Max(x, L::Set(-100.0f));  // keeps n in range for every input
  const V n = L::RoundEven(L::Mul(xc, L::Set(kLog2e)));
  V r = L::Fma(n, L::Set(-kLn2Hi), xc);
  r = L::Fma(n, L::Set(-kLn2Lo), r);
  V p = L::Set(kC7);
  p = L::Fma(p, r, L::Set(kC6));
  p = L::Fma(p, r, L::Set(kC5));
  p = L::Fma(p, r, L::Set(kC4));
  p = L::Fma(p, r, L::Set(kC3));
  p = L::Fma(p, r, L::Set(kC2));
  p = L::Fma(p, r, L::Set(1.0f));
  p = L::Fma(p, r, L::Set(1.0f));
  return L::ZeroBelow(x, L::Mul(p, L::Pow2(n)));
}

struct ScalarLane {
  using V = float;
  static V Set(float a) { return a; }
  static V Fma(V a, V b, V c) { return __builtin_fmaf(a, b, c); }
  static V Mul(V a, V b) { return a * b; }
  static V Max(V x, V c) { return x > c ? x : c; }
  static V RoundEven(V a) { return __builtin_nearbyintf(a); }  // the default rounding mode: to nearest even
  static V Pow2(V n) {
    const uint32_t bits = (static_cast<uint32_t>(static_cast<int32_t>(n)) + 127u) << 23;
    float f;
    __builtin_memcpy(&f, &bits, sizeof(f));
    return f;
  }
  static V ZeroBelow(V x, V v) { return x < kMinArg ? 0.0f : v; }
};

// The parts of the softmax around Exp, shared by every table: scaling and the maximum (exact in any
// order), then e_i into x[i] and lane i % 16 of the sums (Block16 for 16 elements at a time, the
// scalar Exp for the rest), then the normalization.
template <class Block16>
void Softmax(float* x, int64_t n, float scale) {
  float mx = -__builtin_inff();
  for (int64_t i = 0; i < n; ++i) {
    x[i] *= scale;
    mx = x[i] > mx ? x[i] : mx;
  }
  alignas(64) float lanes[16] = {};
  const int64_t full = n - n % 16;
  Block16::ExpAndSum(x, full, mx, lanes);
  for (int64_t i = full; i < n; ++i) {
    x[i] = Exp<ScalarLane>(x[i] - mx);
    lanes[i % 16] += x[i];
  }
  double sum = 0.0;
  for (float l : lanes) sum += l;
  const float inv = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

// The scalar specification of Block16.
struct ScalarBlock16 {
  static void ExpAndSum(float* x, int64_t n, float mx, float* lanes) {
    for (int64_t i = 0; i < n; ++i) {
      x[i] = Exp<ScalarLane>(x[i] - mx);
      lanes[i % 16] += x[i];
    }
  }
};

}  // namespace st::softmax
