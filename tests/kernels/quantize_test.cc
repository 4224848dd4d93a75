// Reference quantizers and dequantizers: known values, round-trip error bounds, and the SIMD
// activation quantizers and f16 conversion bit for bit against the reference.
#include "kernel_test_util.h"

namespace st::testing {
namespace {

TEST(QuantizeTest, Q4_0KnownBlock) {
  // x = j - 16 for j in 0..31: the value of largest magnitude is -16, so d = -16 / -8 = 2.
  std::vector<float> x(32);
  for (int j = 0; j < 32; ++j) x[j] = static_cast<float>(j - 16);
  BlockQ4_0 b;
  QuantizeRowRef(GgmlType::kQ4_0, x.data(), 32, &b);
  EXPECT_EQ(HalfToFloat(b.d), 2.0f);
  // q = min(15, trunc(x / 2 + 8.5)): x = -16 -> 0, x = 0 -> 8, x = 15 -> 15.
  EXPECT_EQ(b.qs[0] & 0xF, 0);
  EXPECT_EQ(b.qs[0] >> 4, 8);
  EXPECT_EQ(b.qs[15] >> 4, 15);
  std::vector<float> y(32);
  DequantizeRowRef(GgmlType::kQ4_0, &b, 32, y.data());
  for (int j = 0; j < 32; ++j) EXPECT_NEAR(y[j], x[j], 1.0f + 1e-6f) << j;
  EXPECT_EQ(y[0], -16.0f);
  EXPECT_EQ(y[16], 0.0f);
}

TEST(QuantizeTest, Q8_0KnownBlockRoundsHalfAway) {
  // amax = 127 makes d = 1, so q = round(x) and halves show the rounding rule.
  std::vector<float> x(32, 0.0f);
  x[0] = 127.0f;
  x[1] = 2.5f;
  x[2] = -2.5f;
  x[3] = 0.5f;
  x[4] = -126.49f;
  BlockQ8_0 b;
  QuantizeRowRef(GgmlType::kQ8_0, x.data(), 32, &b);
  EXPECT_EQ(HalfToFloat(b.d), 1.0f);
  EXPECT_EQ(b.qs[0], 127);
  EXPECT_EQ(b.qs[1], 3);
  EXPECT_EQ(b.qs[2], -3);
  EXPECT_EQ(b.qs[3], 1);
  EXPECT_EQ(b.qs[4], -126);
}

TEST(QuantizeTest, Q8_KKnownBlock) {
  // max = -127 (the first element of largest magnitude, negative): iscale = 1, d = 1.
  std::vector<float> x(256, 0.0f);
  x[0] = -127.0f;
  x[1] = 127.0f;  // same magnitude, later: not the max
  x[2] = 2.5f;    // ties to even
  x[3] = 3.5f;
  x[17] = -1.0f;
  BlockQ8_K b;
  QuantizeRowRef(GgmlType::kQ8_K, x.data(), 256, &b);
  EXPECT_EQ(b.d, 1.0f);
  EXPECT_EQ(b.qs[0], -127);
  EXPECT_EQ(b.qs[1], 127);
  EXPECT_EQ(b.qs[2], 2);
  EXPECT_EQ(b.qs[3], 4);
  EXPECT_EQ(b.bsums[0], -127 + 127 + 2 + 4);
  EXPECT_EQ(b.bsums[1], -1);
  for (int i = 2; i < 16; ++i) EXPECT_EQ(b.bsums[i], 0);
}

// A hand-built Q4_K block against the layout described in quant_blocks.h.
TEST(QuantizeTest, Q4_KLayout) {
  BlockQ4_K b{};
  b.d = FloatToHalf(0.5f);
  b.dmin = FloatToHalf(0.25f);
  const uint8_t sc[8] = {1, 2, 3, 63, 17, 40, 5, 33}, mn[8] = {0, 9, 63, 4, 20, 1, 48, 7};
  for (int j = 0; j < 4; ++j) {
    b.scales[j] = static_cast<uint8_t>(sc[j] | ((sc[j + 4] >> 4) << 6));
    b.scales[j + 4] = static_cast<uint8_t>(mn[j] | ((mn[j + 4] >> 4) << 6));
    b.scales[j + 8] = static_cast<uint8_t>((sc[j + 4] & 0xF) | ((mn[j + 4] & 0xF) << 4));
  }
  for (int i = 0; i < 128; ++i) b.qs[i] = static_cast<uint8_t>(i * 37 + 11);
  std::vector<float> y(256);
  DequantizeRowRef(GgmlType::kQ4_K, &b, 256, y.data());
  for (int i = 0; i < 256; ++i) {
    const int c = i / 64, l = i % 32, j = i / 32;
    const int q = (i % 64) < 32 ? (b.qs[32 * c + l] & 0xF) : (b.qs[32 * c + l] >> 4);
    EXPECT_EQ(y[i], 0.5f * sc[j] * q - 0.25f * mn[j]) << i;
    EXPECT_EQ(DequantizeElementRef(GgmlType::kQ4_K, &b, i), y[i]) << i;
  }
}

TEST(QuantizeTest, Q6_KLayout) {
  BlockQ6_K b{};
  b.d = FloatToHalf(0.125f);
  for (int s = 0; s < 16; ++s) b.scales[s] = static_cast<int8_t>(s * 17 - 128);
  for (int i = 0; i < 128; ++i) b.ql[i] = static_cast<uint8_t>(i * 29 + 3);
  for (int i = 0; i < 64; ++i) b.qh[i] = static_cast<uint8_t>(i * 53 + 7);
  std::vector<float> y(256);
  DequantizeRowRef(GgmlType::kQ6_K, &b, 256, y.data());
  for (int i = 0; i < 256; ++i) {
    const int h = i / 128, g = (i % 128) / 32, l = i % 32;
    const uint8_t ql = b.ql[64 * h + l + 32 * (g & 1)];
    const int low = g < 2 ? (ql & 0xF) : (ql >> 4);
    const int high = (b.qh[32 * h + l] >> (2 * g)) & 3;
    EXPECT_EQ(y[i], 0.125f * b.scales[i / 16] * ((low | (high << 4)) - 32)) << i;
  }
}

// Round trips of random data: RMS error within a fraction of the quantization step.
TEST(QuantizeTest, RoundTripError) {
  struct Case {
    GgmlType type;
    double max_rms;  // relative to the RMS of the input
  };
  // Measured (this data): q8_0 0.0040, q4_0 0.068, q4_k 0.059, q5_k 0.028, q6_k 0.015, q8_k 0.0066,
  // f16 0.00021, bf16 0.0016; the bounds leave ~25% headroom.
  for (Case c : {Case{GgmlType::kQ8_0, 0.005}, Case{GgmlType::kQ4_0, 0.085}, Case{GgmlType::kQ4_K, 0.075},
                 Case{GgmlType::kQ5_K, 0.036}, Case{GgmlType::kQ6_K, 0.019}, Case{GgmlType::kQ8_K, 0.0085},
                 Case{GgmlType::kF16, 0.0003}, Case{GgmlType::kBF16, 0.002}}) {
    SCOPED_TRACE(GgmlTypeName(c.type));
    const int64_t n = 256 * 8;
    const std::vector<float> x = RandomFloats(n, 5);
    std::vector<uint8_t> q(RowBytes(c.type, n));
    std::vector<float> y(n);
    QuantizeRowRef(c.type, x.data(), n, q.data());
    DequantizeRowRef(c.type, q.data(), n, y.data());
    double err = 0.0, sig = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      err += (x[i] - y[i]) * (x[i] - y[i]);
      sig += x[i] * x[i];
    }
    EXPECT_LT(std::sqrt(err / sig), c.max_rms);
    EXPECT_GT(std::sqrt(err / sig), 0.0);
  }
}

TEST(QuantizeTest, KQuantsOfZerosAndConstants) {
  for (GgmlType t : {GgmlType::kQ4_K, GgmlType::kQ5_K, GgmlType::kQ6_K, GgmlType::kQ8_K}) {
    SCOPED_TRACE(GgmlTypeName(t));
    for (float v : {0.0f, 1.0f, -3.0f}) {
      std::vector<float> x(256, v), y(256);
      std::vector<uint8_t> q(RowBytes(t, 256));
      QuantizeRowRef(t, x.data(), 256, q.data());
      DequantizeRowRef(t, q.data(), 256, y.data());
      for (int i = 0; i < 256; ++i) EXPECT_NEAR(y[i], v, 0.02 * std::fabs(v) + 1e-6) << i;
    }
  }
}

TEST(QuantizeTest, SimdActivationQuantizersAreBitExact) {
  for (Isa isa : AvailableIsas()) {
    const KernelTable& k = *KernelTableFor(isa);
    for (int64_t n : {256, 512, 1536}) {
      SCOPED_TRACE(std::string(IsaName(isa)) + " n=" + std::to_string(n));
      std::vector<float> x = RandomFloats(n, static_cast<uint32_t>(n));
      // Exact ties and repeated extremes in the first blocks.
      x[0] = 127.0f;
      x[1] = 2.5f;
      x[2] = -0.5f;
      x[40] = -x[33];
      if (n >= 512) {
        for (int i = 256; i < 288; ++i) x[i] = 0.0f;  // an all-zero Q8_0 block
      }
      if (n > 512) {
        for (int i = 512; i < 768; ++i) x[i] = 0.0f;  // an all-zero Q8_K block
        x[800] = -9.0f;
        x[801] = 9.0f;
      }
      for (GgmlType at : {GgmlType::kQ8_0, GgmlType::kQ8_K}) {
        std::vector<uint8_t> ref(RowBytes(at, n));
        Buffer got(ref.size(), 3);
        Buffer xin(n * 4, 4);
        std::memcpy(xin.data(), x.data(), n * 4);
        QuantizeRowRef(at, x.data(), n, ref.data());
        QuantizeActivation(k, at, xin.f32(), n, got.data());
        EXPECT_EQ(std::memcmp(ref.data(), got.data(), ref.size()), 0) << GgmlTypeName(at);
      }
    }
  }
}

TEST(QuantizeTest, SimdF16ConversionIsBitExact) {
  std::vector<float> x = RandomFloats(300, 9);
  const float specials[] = {0.0f, -0.0f, 1e-8f, -3e-7f, 6.1e-5f, 65504.0f, 65519.0f, 65520.0f, -1e9f,
                            1.0f / 3.0f, 2049.0f, 2051.0f, 5.96046448e-8f, 2.98023224e-8f, INFINITY, -INFINITY};
  for (size_t i = 0; i < sizeof(specials) / sizeof(specials[0]); ++i) x[i] = specials[i];
  for (Isa isa : AvailableIsas()) {
    SCOPED_TRACE(IsaName(isa));
    Buffer out(x.size() * 2, 1);
    KernelTableFor(isa)->f32_to_f16(x.data(), static_cast<int64_t>(x.size()), out.data());
    for (size_t i = 0; i < x.size(); ++i) {
      uint16_t h;
      std::memcpy(&h, out.data() + 2 * i, 2);
      EXPECT_EQ(h, FloatToHalf(x[i])) << "x = " << x[i];
    }
  }
}

}  // namespace
}  // namespace st::testing
