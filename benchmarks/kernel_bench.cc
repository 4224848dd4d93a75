// Kernel microbenchmarks: one benchmark per (entry, weight type, instruction set) at the shapes of
// SmallThinker-4B decode. Bytes processed are the weight bytes each call reads, so the GB/s column
// compares directly with the machine's memory bandwidth.
//
//   kernel_bench --benchmark_filter='gemv/q4_0/.*/1536x1536/cold'
//
// "cold" variants cycle through copies of the matrix totalling >= 256 MiB, so every call streams
// from DRAM as decode does (a decode step touches ~1 GB of weights); "hot" reuse one copy that
// stays in cache, which shows the compute ceiling of the kernel.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/kernel_table.h"
#include "kernels/quantize.h"

namespace st {
namespace {

constexpr uint64_t kColdPoolBytes = 256ull << 20;

// `copies` copies of a rows x n matrix of type t, quantized from random data (one copy quantized,
// the rest memcpy'd).
struct Matrix {
  GgmlType type;
  int64_t rows, n;
  uint64_t row_bytes, bytes;
  int copies;
  std::unique_ptr<uint8_t[]> data;
  const uint8_t* Copy(int i) const { return data.get() + static_cast<uint64_t>(i % copies) * bytes; }
};

Matrix MakeMatrix(GgmlType t, int64_t rows, int64_t n, bool cold) {
  Matrix m{t, rows, n, RowBytes(t, n), 0, 1, nullptr};
  m.bytes = m.row_bytes * rows;
  if (cold) m.copies = static_cast<int>((kColdPoolBytes + m.bytes - 1) / m.bytes);
  m.data.reset(new uint8_t[m.bytes * m.copies]);
  std::mt19937 rng(1);
  std::normal_distribution<float> dist(0.0f, 0.02f);
  std::vector<float> row(n);
  for (int64_t r = 0; r < rows; ++r) {
    for (float& v : row) v = dist(rng);
    QuantizeRowRef(t, row.data(), n, m.data.get() + r * m.row_bytes);
  }
  for (int c = 1; c < m.copies; ++c) std::memcpy(m.data.get() + c * m.bytes, m.data.get(), m.bytes);
  return m;
}

std::vector<float> RandomVector(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(n);
  for (float& v : x) v = dist(rng);
  return x;
}

std::vector<uint8_t> MakeAct(const KernelTable& k, GgmlType wt, int64_t n, uint32_t seed) {
  const GgmlType at = k.weights[static_cast<int>(wt)].act_type;
  const std::vector<float> x = RandomVector(n, seed);
  std::vector<uint8_t> a(ActivationBytes(at, n));
  QuantizeActivation(k, at, x.data(), n, a.data());
  return a;
}

void BenchGemv(benchmark::State& state, const KernelTable* k, GgmlType t, int64_t rows, int64_t n, bool cold) {
  const Matrix m = MakeMatrix(t, rows, n, cold);
  const std::vector<uint8_t> act = MakeAct(*k, t, n, 2);
  std::vector<float> out(rows);
  const GemvFn gemv = k->weights[static_cast<int>(t)].gemv;
  int i = 0;
  for (auto _ : state) {
    gemv(m.Copy(i++), m.row_bytes, rows, n, act.data(), out.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * m.bytes));
}

// Sparse rows: `active` of `rows` rows, evenly spread (as the ReGLU gate / LM-head predictor pick).
std::vector<int32_t> SpreadRows(int64_t rows, int64_t active) {
  std::vector<int32_t> idx;
  std::mt19937 rng(3);
  std::vector<int32_t> all(rows);
  for (int64_t r = 0; r < rows; ++r) all[r] = static_cast<int32_t>(r);
  std::shuffle(all.begin(), all.end(), rng);
  idx.assign(all.begin(), all.begin() + active);
  std::sort(idx.begin(), idx.end());
  return idx;
}

void BenchGemvIndexed(benchmark::State& state, const KernelTable* k, GgmlType t, int64_t rows, int64_t n, int64_t active,
                      bool cold) {
  const Matrix m = MakeMatrix(t, rows, n, cold);
  const std::vector<uint8_t> act = MakeAct(*k, t, n, 2);
  const std::vector<int32_t> idx = SpreadRows(rows, active);
  std::vector<float> out(active);
  const GemvIndexedFn f = k->weights[static_cast<int>(t)].gemv_indexed;
  int i = 0;
  for (auto _ : state) {
    f(m.Copy(i++), m.row_bytes, idx.data(), active, n, act.data(), out.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * m.row_bytes * active));
}

void BenchAxpyIndexed(benchmark::State& state, const KernelTable* k, GgmlType t, int64_t rows, int64_t n,
                      int64_t active, bool cold) {
  const Matrix m = MakeMatrix(t, rows, n, cold);
  const std::vector<int32_t> idx = SpreadRows(rows, active);
  const std::vector<float> a = RandomVector(active, 4);
  std::vector<float> y(n, 0.0f);
  const AxpyIndexedFn f = k->weights[static_cast<int>(t)].axpy_indexed;
  int i = 0;
  for (auto _ : state) {
    f(m.Copy(i++), m.row_bytes, idx.data(), a.data(), active, n, y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * m.row_bytes * active));
}

void BenchGemm(benchmark::State& state, const KernelTable* k, GgmlType t, int64_t rows, int64_t n, int64_t n_act,
               bool cold) {
  const Matrix m = MakeMatrix(t, rows, n, cold);
  const GgmlType at = k->weights[static_cast<int>(t)].act_type;
  const uint64_t stride = ActivationBytes(at, n);
  std::vector<uint8_t> acts;
  for (int64_t j = 0; j < n_act; ++j) {
    const std::vector<uint8_t> a = MakeAct(*k, t, n, static_cast<uint32_t>(10 + j));
    acts.insert(acts.end(), a.begin(), a.end());
  }
  std::vector<float> out(rows * n_act);
  const GemmFn f = k->weights[static_cast<int>(t)].gemm;
  int i = 0;
  for (auto _ : state) {
    f(m.Copy(i++), m.row_bytes, rows, n, acts.data(), stride, n_act, out.data(), rows);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * m.bytes));
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(state.iterations() * n_act),
                                                  benchmark::Counter::kIsRate);
}

// axpy_multi as prefill's down step runs it: one expert's 768 rows over one thread's half of the
// columns, for the tokens that chose the expert, each with ~30% of the rows active (others zero).
// `one_by_one` makes one call per token instead (the decode path, for comparison).
void BenchAxpyMulti(benchmark::State& state, const KernelTable* k, GgmlType t, int64_t rows, int64_t n, int64_t n_tok,
                    bool one_by_one) {
  const Matrix m = MakeMatrix(t, rows, n, false);
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> a(n_tok * rows);
  for (float& v : a) v = rng() % 10 < 3 ? u(rng) : 0.0f;
  std::vector<float> y(n_tok * n, 0.0f);
  std::vector<float*> yp(n_tok);
  for (int64_t j = 0; j < n_tok; ++j) yp[j] = y.data() + j * n;
  const AxpyMultiFn f = k->weights[static_cast<int>(t)].axpy_multi;
  for (auto _ : state) {
    if (one_by_one) {
      for (int64_t j = 0; j < n_tok; ++j) {
        f(m.Copy(0), m.row_bytes, nullptr, rows, a.data() + j * rows, rows, 1, n, &yp[j]);
      }
    } else {
      f(m.Copy(0), m.row_bytes, nullptr, rows, a.data(), rows, n_tok, n, yp.data());
    }
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(state.iterations() * n_tok),
                                                  benchmark::Counter::kIsRate);
}

void BenchQuantize(benchmark::State& state, const KernelTable* k, GgmlType at, int64_t n) {
  const std::vector<float> x = RandomVector(n, 5);
  std::vector<uint8_t> out(ActivationBytes(at, n));
  for (auto _ : state) {
    QuantizeActivation(*k, at, x.data(), n, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n * 4));
}

void RegisterAll() {
  const GgmlType kTypes[] = {GgmlType::kQ4_0, GgmlType::kQ8_0, GgmlType::kQ4_K, GgmlType::kQ5_K,
                             GgmlType::kQ6_K, GgmlType::kF16,  GgmlType::kBF16, GgmlType::kF32};
  for (Isa isa : AvailableIsas()) {
    const KernelTable* k = KernelTableFor(isa);
    const std::string in = std::string("/") + IsaName(isa);
    for (GgmlType t : kTypes) {
      const std::string ty = std::string("/") + GgmlTypeName(t);
      for (bool cold : {false, true}) {
        const std::string temp = cold ? "/cold" : "/hot";
        benchmark::RegisterBenchmark(("gemv" + ty + in + "/1536x1536" + temp).c_str(), BenchGemv, k, t, 1536, 1536, cold);
        benchmark::RegisterBenchmark(("gemv" + ty + in + "/768x1536" + temp).c_str(), BenchGemv, k, t, 768, 1536, cold);
        benchmark::RegisterBenchmark(("gemv_indexed" + ty + in + "/230of768x1536" + temp).c_str(), BenchGemvIndexed,
                                     k, t, 768, 1536, 230, cold);
        benchmark::RegisterBenchmark(("axpy_indexed" + ty + in + "/230of768x1536" + temp).c_str(), BenchAxpyIndexed,
                                     k, t, 768, 1536, 230, cold);
        benchmark::RegisterBenchmark(("gemm8" + ty + in + "/1536x1536" + temp).c_str(), BenchGemm, k, t, 1536, 1536, 8,
                                     cold);
        // An expert's gate or up rows for the tokens that chose it in a prefill batch.
        benchmark::RegisterBenchmark(("gemm32" + ty + in + "/768x1536" + temp).c_str(), BenchGemm, k, t, 768, 1536, 32,
                                     cold);
      }
    }
    for (GgmlType t : {GgmlType::kQ4_0, GgmlType::kF16}) {
      const std::string ty = std::string("/") + GgmlTypeName(t);
      benchmark::RegisterBenchmark(("axpy_multi" + ty + in + "/32x768x768").c_str(), BenchAxpyMulti, k, t, 768, 768, 32,
                                   false);
      benchmark::RegisterBenchmark(("axpy_multi" + ty + in + "/32x768x768/one_by_one").c_str(), BenchAxpyMulti, k, t,
                                   768, 768, 32, true);
    }
    benchmark::RegisterBenchmark(("gemv/q4_0" + in + "/151936x1536/lm_head").c_str(), BenchGemv, k, GgmlType::kQ4_0,
                                 151936, 1536, false);
    benchmark::RegisterBenchmark(("quantize/q8_0" + in + "/1536").c_str(), BenchQuantize, k, GgmlType::kQ8_0, 1536);
    benchmark::RegisterBenchmark(("quantize/q8_k" + in + "/1536").c_str(), BenchQuantize, k, GgmlType::kQ8_K, 1536);
  }
}

}  // namespace
}  // namespace st

int main(int argc, char** argv) {
  st::RegisterAll();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
