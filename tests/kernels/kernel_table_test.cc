// Every SIMD kernel table this CPU can run against the scalar table (the specification): every
// entry, every weight type, row lengths that hit tails, odd row counts, misaligned pointers.
#include <algorithm>
#include <numeric>

#include "kernel_test_util.h"

namespace st::testing {
namespace {

std::string Describe(Isa isa, GgmlType t, int64_t n, int64_t rows, int w_off, int a_off) {
  return std::string(IsaName(isa)) + " " + GgmlTypeName(t) + " n=" + std::to_string(n) + " rows=" +
         std::to_string(rows) + " w_off=" + std::to_string(w_off) + " a_off=" + std::to_string(a_off);
}

TEST(KernelTableTest, EveryTableIsComplete) {
  for (Isa isa : AvailableIsas()) {
    const KernelTable& k = *KernelTableFor(isa);
    EXPECT_EQ(k.isa, isa);
    for (GgmlType t : WeightTypes()) {
      SCOPED_TRACE(std::string(IsaName(isa)) + " " + GgmlTypeName(t));
      const WeightKernels& w = k.weights[static_cast<int>(t)];
      EXPECT_TRUE(IsComputeType(t));
      EXPECT_NE(w.gemv, nullptr);
      EXPECT_NE(w.gemv_indexed, nullptr);
      EXPECT_NE(w.gemm, nullptr);
      EXPECT_NE(w.axpy_indexed, nullptr);
      EXPECT_NE(w.axpy, nullptr);
      EXPECT_NE(w.axpy_multi, nullptr);
      EXPECT_NE(w.dequantize, nullptr);
      EXPECT_EQ(w.act_type, Scalar().weights[static_cast<int>(t)].act_type);
    }
    EXPECT_NE(k.quantize_q8_0, nullptr);
    EXPECT_NE(k.quantize_q8_k, nullptr);
    EXPECT_NE(k.f32_to_f16, nullptr);
    EXPECT_NE(k.dot_f32, nullptr);
    EXPECT_NE(k.axpy_f32, nullptr);
  }
}

TEST(KernelTableTest, ActivationTypes) {
  EXPECT_EQ(Scalar().weights[static_cast<int>(GgmlType::kF16)].act_type, GgmlType::kF32);
  EXPECT_EQ(Scalar().weights[static_cast<int>(GgmlType::kQ4_0)].act_type, GgmlType::kQ8_0);
  EXPECT_EQ(Scalar().weights[static_cast<int>(GgmlType::kQ8_0)].act_type, GgmlType::kQ8_0);
  EXPECT_EQ(Scalar().weights[static_cast<int>(GgmlType::kQ4_K)].act_type, GgmlType::kQ8_K);
  EXPECT_EQ(Scalar().weights[static_cast<int>(GgmlType::kQ6_K)].act_type, GgmlType::kQ8_K);
}

// The scalar gemv equals a plain float dot of the dequantized operands (up to rounding): checks the
// specification itself against the block layouts.
TEST(KernelTableTest, ScalarGemvMatchesDequantizedDot) {
  for (GgmlType t : WeightTypes()) {
    for (int64_t n : RowLengths(t)) {
      SCOPED_TRACE(std::string(GgmlTypeName(t)) + " n=" + std::to_string(n));
      const int64_t rows = 3;
      Buffer w = RandomWeights(t, rows, n, 11, 0);
      Act a = RandomAct(t, n, 12, 0);
      const uint64_t rb = RowBytes(t, n);
      std::vector<float> out(rows);
      Scalar().weights[static_cast<int>(t)].gemv(w.data(), rb, rows, n, a.data.data(), out.data());
      std::vector<float> wf(n);
      for (int64_t r = 0; r < rows; ++r) {
        DequantizeRowRef(t, w.data() + r * rb, n, wf.data());
        double ref = 0.0;
        for (int64_t i = 0; i < n; ++i) ref += static_cast<double>(wf[i]) * a.xq[i];
        EXPECT_NEAR(out[r], ref, 10 * DotTolerance(t, w.data() + r * rb, n, a.xq)) << "row " << r;
      }
    }
  }
}

TEST(KernelTableTest, GemvMatchesScalar) {
  for (Isa isa : SimdIsas()) {
    const KernelTable& k = *KernelTableFor(isa);
    for (GgmlType t : WeightTypes()) {
      for (int64_t n : RowLengths(t)) {
        for (int64_t rows : {1, 3, 17}) {
          const int w_off = static_cast<int>((n + rows) % 4), a_off = static_cast<int>(rows % 3) + 1;
          SCOPED_TRACE(Describe(isa, t, n, rows, w_off, a_off));
          Buffer w = RandomWeights(t, rows, n, static_cast<uint32_t>(n * 31 + rows), w_off);
          Act a = RandomAct(t, n, static_cast<uint32_t>(n + 7 * rows), a_off);
          const uint64_t rb = RowBytes(t, n);
          std::vector<float> ref(rows), got(rows);
          Scalar().weights[static_cast<int>(t)].gemv(w.data(), rb, rows, n, a.data.data(), ref.data());
          k.weights[static_cast<int>(t)].gemv(w.data(), rb, rows, n, a.data.data(), got.data());
          for (int64_t r = 0; r < rows; ++r) {
            EXPECT_NEAR(got[r], ref[r], DotTolerance(t, w.data() + r * rb, n, a.xq)) << "row " << r;
          }
          // A row's value does not depend on which rows share the call (runtime splits by rows).
          for (int64_t r = 0; r < rows; ++r) {
            float one;
            k.weights[static_cast<int>(t)].gemv(w.data() + r * rb, rb, 1, n, a.data.data(), &one);
            EXPECT_TRUE(SameBits(one, got[r])) << "row " << r << " alone: " << one << " vs " << got[r];
          }
        }
      }
    }
  }
}

TEST(KernelTableTest, GemvIndexedMatchesScalarAndGemv) {
  for (Isa isa : AvailableIsas()) {
    const KernelTable& k = *KernelTableFor(isa);
    for (GgmlType t : WeightTypes()) {
      for (int64_t n : RowLengths(t)) {
        const int64_t rows = 17;
        SCOPED_TRACE(Describe(isa, t, n, rows, 1, 2));
        Buffer w = RandomWeights(t, rows, n, static_cast<uint32_t>(n + 5), 1);
        Act a = RandomAct(t, n, static_cast<uint32_t>(n + 6), 2);
        const uint64_t rb = RowBytes(t, n);
        const std::vector<int32_t> idx = {16, 3, 3, 0, 9, 1, 15, 2, 8};  // unsorted, repeated
        std::vector<float> all(rows), ref(idx.size()), got(idx.size());
        k.weights[static_cast<int>(t)].gemv(w.data(), rb, rows, n, a.data.data(), all.data());
        Scalar().weights[static_cast<int>(t)].gemv_indexed(w.data(), rb, idx.data(), idx.size(), n, a.data.data(),
                                                           ref.data());
        k.weights[static_cast<int>(t)].gemv_indexed(w.data(), rb, idx.data(), idx.size(), n, a.data.data(), got.data());
        for (size_t i = 0; i < idx.size(); ++i) {
          EXPECT_NEAR(got[i], ref[i], DotTolerance(t, w.data() + idx[i] * rb, n, a.xq)) << "i " << i;
          EXPECT_TRUE(SameBits(got[i], all[idx[i]])) << "i " << i << ": gemv_indexed differs from gemv";
        }
      }
    }
  }
}

TEST(KernelTableTest, GemmMatchesScalarAndGemv) {
  for (Isa isa : AvailableIsas()) {
    const KernelTable& k = *KernelTableFor(isa);
    for (GgmlType t : WeightTypes()) {
      for (int64_t n : RowLengths(t)) {
        for (int64_t rows : {1, 3, 17, 35}) {  // 35: two 16-row panels and a partial one
          for (int64_t n_act : {1, 2, 3, 5, 11}) {  // 11: a tile of 8 activations and a rest
            SCOPED_TRACE(Describe(isa, t, n, rows, 3, 1) + " n_act=" + std::to_string(n_act));
            Buffer w = RandomWeights(t, rows, n, static_cast<uint32_t>(n * 3 + rows), 3);
            const GgmlType at = k.weights[static_cast<int>(t)].act_type;
            // Activations at a stride a little larger than one activation, misaligned.
            const uint64_t act_bytes = ActivationBytes(at, n), stride = act_bytes + 5;
            Buffer acts(stride * n_act, 1);
            std::vector<Act> a;
            for (int64_t j = 0; j < n_act; ++j) {
              a.push_back(RandomAct(t, n, static_cast<uint32_t>(100 + j * 17 + n), 0));
              std::memcpy(acts.data() + j * stride, a.back().data.data(), act_bytes);
            }
            const uint64_t rb = RowBytes(t, n);
            const int64_t out_stride = rows + 2;
            std::vector<float> ref(out_stride * n_act, -1.0f), got(out_stride * n_act, -1.0f);
            Scalar().weights[static_cast<int>(t)].gemm(w.data(), rb, rows, n, acts.data(), stride, n_act, ref.data(),
                                                       out_stride);
            k.weights[static_cast<int>(t)].gemm(w.data(), rb, rows, n, acts.data(), stride, n_act, got.data(), out_stride);
            for (int64_t j = 0; j < n_act; ++j) {
              std::vector<float> one(rows);
              k.weights[static_cast<int>(t)].gemv(w.data(), rb, rows, n, acts.data() + j * stride, one.data());
              for (int64_t r = 0; r < rows; ++r) {
                const float g = got[j * out_stride + r];
                EXPECT_NEAR(g, ref[j * out_stride + r], DotTolerance(t, w.data() + r * rb, n, a[j].xq))
                    << "act " << j << " row " << r;
                EXPECT_TRUE(SameBits(g, one[r])) << "act " << j << " row " << r << ": gemm differs from gemv";
              }
              for (int64_t r = rows; r < out_stride; ++r) EXPECT_EQ(got[j * out_stride + r], -1.0f) << "wrote padding";
            }
          }
        }
      }
    }
  }
}

// y0 + sum_i a_i * w_i per element, and its error scale |y0| + sum_i |a_i| * mag_i.
struct AxpyCase {
  int64_t n, n_rows;
  std::vector<int32_t> rows;
  std::vector<float> a, y0;
};

AxpyCase MakeAxpyCase(int64_t n, int64_t n_rows, int64_t total_rows, uint32_t seed) {
  AxpyCase c{n, n_rows, {}, {}, RandomFloats(n, seed)};
  std::mt19937 rng(seed);
  std::vector<int32_t> perm(total_rows);
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), rng);
  c.rows.assign(perm.begin(), perm.begin() + n_rows);
  std::sort(c.rows.begin(), c.rows.end());  // as sparse ReGLU produces them
  std::uniform_real_distribution<float> u(-2.0f, 2.0f);
  for (int64_t i = 0; i < n_rows; ++i) c.a.push_back(u(rng));
  return c;
}

std::vector<double> AxpyTolerance(GgmlType t, const uint8_t* w, uint64_t rb, const AxpyCase& c, bool consecutive) {
  std::vector<double> tol(c.n);
  for (int64_t j = 0; j < c.n; ++j) tol[j] = std::fabs(c.y0[j]);
  for (int64_t i = 0; i < c.n_rows; ++i) {
    const std::vector<float> mag = ElementMagnitudes(t, w + (consecutive ? i : c.rows[i]) * rb, c.n);
    for (int64_t j = 0; j < c.n; ++j) tol[j] += std::fabs(c.a[i]) * mag[j];
  }
  for (double& v : tol) v = 1e-5 * v + 1e-6;
  return tol;
}

TEST(KernelTableTest, AxpyIndexedMatchesScalar) {
  for (Isa isa : SimdIsas()) {
    const KernelTable& k = *KernelTableFor(isa);
    for (GgmlType t : WeightTypes()) {
      for (int64_t n : RowLengths(t)) {
        for (int64_t n_rows : {1, 3, 17}) {
          const int64_t total = 24;
          const int w_off = static_cast<int>(n_rows % 4);
          SCOPED_TRACE(Describe(isa, t, n, n_rows, w_off, 0));
          Buffer w = RandomWeights(t, total, n, static_cast<uint32_t>(n * 13 + n_rows), w_off);
          const uint64_t rb = RowBytes(t, n);
          const AxpyCase c = MakeAxpyCase(n, n_rows, total, static_cast<uint32_t>(n + n_rows));
          for (bool consecutive : {false, true}) {
            const int32_t* rows = consecutive ? nullptr : c.rows.data();
            const std::vector<double> tol = AxpyTolerance(t, w.data(), rb, c, consecutive);
            Buffer yr(n * 4, 0), yg(n * 4, 4);  // float outputs: float-aligned, not vector-aligned
            std::memcpy(yr.data(), c.y0.data(), n * 4);
            std::memcpy(yg.data(), c.y0.data(), n * 4);
            Scalar().weights[static_cast<int>(t)].axpy_indexed(w.data(), rb, rows, c.a.data(), n_rows, n, yr.f32());
            k.weights[static_cast<int>(t)].axpy_indexed(w.data(), rb, rows, c.a.data(), n_rows, n, yg.f32());
            for (int64_t j = 0; j < n; ++j) {
              ASSERT_NEAR(yg.f32()[j], yr.f32()[j], tol[j]) << "element " << j << " consecutive=" << consecutive;
            }
          }
        }
      }
    }
  }
}

// Within a table: axpy_indexed over several rows == axpy row by row, and a split of the columns
// into block-aligned ranges gives the same bits (the runtime may split y across threads).
TEST(KernelTableTest, AxpyIsSplitInvariant) {
  for (Isa isa : AvailableIsas()) {
    const KernelTable& k = *KernelTableFor(isa);
    for (GgmlType t : WeightTypes()) {
      const int64_t n = IsKQuant(t) ? 768 : 288;
      const int64_t block = TraitsOf(t).block_size;
      SCOPED_TRACE(std::string(IsaName(isa)) + " " + GgmlTypeName(t));
      Buffer w = RandomWeights(t, 20, n, 77, 1);
      const uint64_t rb = RowBytes(t, n);
      const AxpyCase c = MakeAxpyCase(n, 9, 20, 78);
      const WeightKernels& wk = k.weights[static_cast<int>(t)];
      std::vector<float> whole = c.y0, by_row = c.y0, split = c.y0;
      wk.axpy_indexed(w.data(), rb, c.rows.data(), c.a.data(), c.n_rows, n, whole.data());
      for (int64_t i = 0; i < c.n_rows; ++i) wk.axpy(w.data() + c.rows[i] * rb, n, c.a[i], by_row.data());
      // Split points at odd multiples of the block size.
      const int64_t cut1 = block * (IsKQuant(t) ? 1 : 3), cut2 = block * (IsKQuant(t) ? 2 : 5);
      const int64_t cuts[] = {0, cut1, cut2, n};
      for (int s = 0; s < 3; ++s) {
        const uint64_t col_bytes = RowBytes(t, cuts[s]);
        wk.axpy_indexed(w.data() + col_bytes, rb, c.rows.data(), c.a.data(), c.n_rows, cuts[s + 1] - cuts[s],
                        split.data() + cuts[s]);
      }
      for (int64_t j = 0; j < n; ++j) {
        ASSERT_TRUE(SameBits(whole[j], by_row[j])) << "element " << j << ": axpy differs from axpy_indexed";
        ASSERT_TRUE(SameBits(whole[j], split[j])) << "element " << j << ": column split changes the result";
      }
    }
  }
}

// axpy_multi against the scalar table, and within a table: an output's bits are axpy_indexed's over
// its non-zero rows, so they do not depend on how many outputs share the call (the runtime's decode
// step passes one, prefill many), nor on a block-aligned split of the columns. About half the
// coefficients are zero (inactive neurons, masked positions): those terms must contribute nothing.
TEST(KernelTableTest, AxpyMultiMatchesScalarAndSingleOutput) {
  for (Isa isa : AvailableIsas()) {
    const KernelTable& k = *KernelTableFor(isa);
    for (GgmlType t : WeightTypes()) {
      const WeightKernels& wk = k.weights[static_cast<int>(t)];
      for (int64_t n : RowLengths(t)) {
        const int64_t total = 200;  // more rows than one slab of the buffered path
        Buffer w = RandomWeights(t, total, n, static_cast<uint32_t>(n * 5 + 1), static_cast<int>(n % 3) + 1);
        const uint64_t rb = RowBytes(t, n);
        for (int64_t n_tok : {1, 3, 6, 33}) {
          for (bool consecutive : {true, false}) {
            SCOPED_TRACE(Describe(isa, t, n, total, 0, 0) + " n_tok=" + std::to_string(n_tok) +
                         (consecutive ? " consecutive" : " indexed"));
            std::mt19937 rng(static_cast<uint32_t>(n + n_tok));
            std::vector<int32_t> rows;
            for (int32_t r = 0; r < total; ++r) {
              if (consecutive || rng() % 3 != 0) rows.push_back(r);
            }
            const int64_t n_rows = static_cast<int64_t>(rows.size()), a_stride = n_rows + 3;
            std::uniform_real_distribution<float> u(-2.0f, 2.0f);
            std::vector<float> a(n_tok * a_stride, 7.0f);
            for (int64_t j = 0; j < n_tok; ++j) {
              for (int64_t i = 0; i < n_rows; ++i) a[j * a_stride + i] = rng() % 2 ? u(rng) : 0.0f;
              a[j * a_stride] = -0.0f;  // a negative zero is a zero too
            }
            const std::vector<float> y0 = RandomFloats(n * n_tok, static_cast<uint32_t>(n_tok));
            std::vector<float> ref = y0, got = y0, single = y0, split = y0, indexed = y0;
            auto ptrs = [&](std::vector<float>& v) {
              std::vector<float*> p;
              for (int64_t j = 0; j < n_tok; ++j) p.push_back(v.data() + j * n);
              return p;
            };
            const int32_t* ri = consecutive ? nullptr : rows.data();
            Scalar().weights[static_cast<int>(t)].axpy_multi(w.data(), rb, ri, n_rows, a.data(), a_stride, n_tok, n,
                                                             ptrs(ref).data());
            wk.axpy_multi(w.data(), rb, ri, n_rows, a.data(), a_stride, n_tok, n, ptrs(got).data());
            for (int64_t j = 0; j < n_tok; ++j) {
              float* yj = single.data() + j * n;
              wk.axpy_multi(w.data(), rb, ri, n_rows, a.data() + j * a_stride, a_stride, 1, n, &yj);
              std::vector<int32_t> nz_rows;
              std::vector<float> nz_a;
              for (int64_t i = 0; i < n_rows; ++i) {
                if (a[j * a_stride + i] == 0.0f) continue;
                nz_rows.push_back(rows[i]);
                nz_a.push_back(a[j * a_stride + i]);
              }
              wk.axpy_indexed(w.data(), rb, nz_rows.data(), nz_a.data(), static_cast<int64_t>(nz_rows.size()), n,
                              indexed.data() + j * n);
            }
            const int64_t block = TraitsOf(t).block_size;
            const int64_t cut = n / block / 2 * block;  // block-aligned, 0 for one block
            std::vector<int64_t> cuts = {0};
            if (cut > 0) cuts.push_back(cut);
            cuts.push_back(n);
            for (size_t s = 0; s + 1 < cuts.size(); ++s) {
              const int64_t c0 = cuts[s], c1 = cuts[s + 1];
              std::vector<float*> p = ptrs(split);
              for (float*& q : p) q += c0;
              wk.axpy_multi(w.data() + RowBytes(t, c0), rb, ri, n_rows, a.data(), a_stride, n_tok, c1 - c0, p.data());
            }
            for (int64_t j = 0; j < n_tok; ++j) {
              std::vector<double> tol(n);
              for (int64_t e = 0; e < n; ++e) tol[e] = std::fabs(y0[j * n + e]);
              for (int64_t i = 0; i < n_rows; ++i) {
                const float c = a[j * a_stride + i];
                if (c == 0.0f) continue;
                const std::vector<float> mag = ElementMagnitudes(t, w.data() + rows[i] * rb, n);
                for (int64_t e = 0; e < n; ++e) tol[e] += std::fabs(c) * mag[e];
              }
              for (int64_t e = 0; e < n; ++e) {
                const int64_t x = j * n + e;
                ASSERT_NEAR(got[x], ref[x], 1e-5 * tol[e] + 1e-6) << "output " << j << " element " << e;
                ASSERT_TRUE(SameBits(got[x], single[x])) << "output " << j << " element " << e << ": alone differs";
                ASSERT_TRUE(SameBits(got[x], split[x])) << "output " << j << " element " << e << ": split differs";
                ASSERT_TRUE(SameBits(got[x], indexed[x]))
                    << "output " << j << " element " << e << ": differs from axpy_indexed over the non-zero rows";
              }
            }
          }
        }
      }
    }
  }
}

TEST(KernelTableTest, DequantizeIsExact) {
  for (Isa isa : AvailableIsas()) {
    const KernelTable& k = *KernelTableFor(isa);
    for (GgmlType t : WeightTypes()) {
      for (int64_t n : RowLengths(t)) {
        SCOPED_TRACE(Describe(isa, t, n, 2, 3, 0));
        Buffer w = RandomWeights(t, 2, n, static_cast<uint32_t>(n + 99), 3);
        const uint64_t rb = RowBytes(t, n);
        for (int64_t r = 0; r < 2; ++r) {
          std::vector<float> ref(n);
          Buffer got(n * 4, 4);
          DequantizeRowRef(t, w.data() + r * rb, n, ref.data());
          k.weights[static_cast<int>(t)].dequantize(w.data() + r * rb, n, got.f32());
          for (int64_t i = 0; i < n; ++i) {
            ASSERT_TRUE(SameBits(got.f32()[i], ref[i])) << "row " << r << " element " << i << ": " << got.f32()[i]
                                                        << " vs " << ref[i];
          }
        }
      }
    }
  }
}

TEST(KernelTableTest, VectorHelpersMatchScalar) {
  for (Isa isa : SimdIsas()) {
    const KernelTable& k = *KernelTableFor(isa);
    for (int64_t n : {1, 5, 8, 16, 31, 64, 128, 200}) {
      SCOPED_TRACE(std::string(IsaName(isa)) + " n=" + std::to_string(n));
      const std::vector<float> x = RandomFloats(n, static_cast<uint32_t>(n)), y = RandomFloats(n, static_cast<uint32_t>(n + 1));
      Buffer xb(n * 4, 4), yb(n * 4, 12);
      std::memcpy(xb.data(), x.data(), n * 4);
      std::memcpy(yb.data(), y.data(), n * 4);
      double mag = 0.0;
      for (int64_t i = 0; i < n; ++i) mag += std::fabs(static_cast<double>(x[i]) * y[i]);
      EXPECT_NEAR(k.dot_f32(xb.f32(), yb.f32(), n), Scalar().dot_f32(x.data(), y.data(), n), 1e-5 * mag + 1e-6);
      std::vector<float> yr = y;
      Scalar().axpy_f32(x.data(), n, 0.37f, yr.data());
      k.axpy_f32(xb.f32(), n, 0.37f, yb.f32());
      for (int64_t i = 0; i < n; ++i) {
        EXPECT_NEAR(yb.f32()[i], yr[i], 1e-6 * (std::fabs(y[i]) + std::fabs(0.37f * x[i])) + 1e-7) << i;
      }
    }
  }
}

// The softmax gives the same bits in every table, and is the softmax to float precision.
TEST(KernelTableTest, SoftmaxIsBitIdenticalAcrossTablesAndAccurate) {
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 6.0f);
  for (int64_t n : {1, 5, 15, 16, 17, 33, 100, 1000, 4096}) {
    std::vector<float> x(n);
    for (float& v : x) v = nd(rng);
    if (n > 3) x[1] = -300.0f;  // far below the rest: exp underflows to 0
    const float scale = 0.088388f;
    std::vector<float> ref = x;
    Scalar().softmax_f32(ref.data(), n, scale);
    // Against double precision.
    double mx = -1e300, sum = 0.0;
    for (float v : x) mx = std::max(mx, static_cast<double>(v * scale));
    for (float v : x) sum += std::exp(static_cast<double>(v * scale) - mx);
    double total = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      const double want = std::exp(static_cast<double>(x[i] * scale) - mx) / sum;
      EXPECT_NEAR(ref[i], want, 2e-6 * want + 1e-30) << "n=" << n << " i=" << i;
      total += ref[i];
    }
    EXPECT_NEAR(total, 1.0, 1e-5);
    for (Isa isa : AvailableIsas()) {
      std::vector<float> got = x;
      KernelTableFor(isa)->softmax_f32(got.data(), n, scale);
      EXPECT_EQ(std::memcmp(got.data(), ref.data(), n * sizeof(float)), 0) << IsaName(isa) << " n=" << n;
    }
  }
}

}  // namespace
}  // namespace st::testing
