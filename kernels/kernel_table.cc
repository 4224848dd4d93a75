#include "kernels/kernel_table.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "kernels/cpu_features.h"
#include "kernels/quant_blocks.h"

namespace st {

const char* IsaName(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return "scalar";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
    case Isa::kAvx512Vnni: return "avx512_vnni";
    case Isa::kNeon: return "neon";
    case Isa::kNeonDotprod: return "neon_dotprod";
  }
  return "unknown";
}

namespace {

// Fills empty SIMD entries from the scalar table so every table is complete.
void FillGaps(KernelTable* t, const KernelTable& scalar) {
  for (uint32_t i = 0; i < kGgmlTypeIdLimit; ++i) {
    WeightKernels& w = t->weights[i];
    const WeightKernels& s = scalar.weights[i];
    w.act_type = s.act_type;  // a property of the weight type, not of the instruction set
    if (w.gemv == nullptr) w.gemv = s.gemv;
    if (w.gemv_indexed == nullptr) w.gemv_indexed = s.gemv_indexed;
    if (w.gemm == nullptr) w.gemm = s.gemm;
    if (w.axpy_indexed == nullptr) w.axpy_indexed = s.axpy_indexed;
    if (w.axpy == nullptr) w.axpy = s.axpy;
    if (w.axpy_multi == nullptr) w.axpy_multi = s.axpy_multi;
    if (w.dequantize == nullptr) w.dequantize = s.dequantize;
  }
  if (t->quantize_q8_0 == nullptr) t->quantize_q8_0 = scalar.quantize_q8_0;
  if (t->quantize_q8_k == nullptr) t->quantize_q8_k = scalar.quantize_q8_k;
  if (t->f32_to_f16 == nullptr) t->f32_to_f16 = scalar.f32_to_f16;
  if (t->dot_f32 == nullptr) t->dot_f32 = scalar.dot_f32;
  if (t->axpy_f32 == nullptr) t->axpy_f32 = scalar.axpy_f32;
  if (t->softmax_f32 == nullptr) t->softmax_f32 = scalar.softmax_f32;
}

struct Tables {
  KernelTable scalar;
  std::unique_ptr<KernelTable> by_isa[kIsaCount];
  Tables() {
    FillScalarKernels(&scalar);
    const CpuFeatures& cpu = GetCpuFeatures();
    for (Isa isa : {Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Vnni, Isa::kNeon, Isa::kNeonDotprod}) {
      if (!cpu.Supports(isa) || !IsaCompiled(isa)) continue;
      auto t = std::make_unique<KernelTable>();
      // Only the files of this architecture are compiled (see CMakeLists.txt).
      switch (isa) {
#if defined(__x86_64__)
        case Isa::kAvx2: FillAvx2Kernels(t.get()); break;
        case Isa::kAvx512: FillAvx512Kernels(t.get(), false); break;
        case Isa::kAvx512Vnni: FillAvx512Kernels(t.get(), true); break;
#elif defined(__aarch64__)
        case Isa::kNeon: FillNeonKernels(t.get(), false); break;
        case Isa::kNeonDotprod: FillNeonKernels(t.get(), true); break;
#endif
        default: break;
      }
      t->isa = isa;
      FillGaps(t.get(), scalar);
      by_isa[static_cast<int>(isa)] = std::move(t);
    }
  }
};

const Tables& AllTables() {
  static const Tables* tables = new Tables();  // never destroyed: usable during static teardown
  return *tables;
}

}  // namespace

const KernelTable* KernelTableFor(Isa isa) {
  const Tables& t = AllTables();
  if (isa == Isa::kScalar) return &t.scalar;
  return t.by_isa[static_cast<int>(isa)].get();
}

std::vector<Isa> AvailableIsas() {
  std::vector<Isa> out{Isa::kScalar};
  for (Isa isa : {Isa::kNeon, Isa::kNeonDotprod, Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Vnni}) {
    if (KernelTableFor(isa) != nullptr) out.push_back(isa);
  }
  return out;
}

const KernelTable* SelectKernelTable(const char* forced, std::string* error) {
  if (forced == nullptr || forced[0] == '\0') {
    const std::vector<Isa> isas = AvailableIsas();
    return KernelTableFor(isas.back());  // the last is the best
  }
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Vnni, Isa::kNeon, Isa::kNeonDotprod}) {
    if (std::strcmp(forced, IsaName(isa)) == 0) {
      const KernelTable* table = KernelTableFor(isa);
      if (table == nullptr) {
        *error = std::string("ST_KERNELS=") + forced + ": this CPU or build does not support " + forced;
      }
      return table;
    }
  }
  *error = std::string("ST_KERNELS=") + forced +
           " is not one of scalar, avx2, avx512, avx512_vnni, neon, neon_dotprod";
  return nullptr;
}

const KernelTable& Kernels() {
  static const KernelTable* table = [] {
    std::string error;
    const KernelTable* t = SelectKernelTable(std::getenv("ST_KERNELS"), &error);
    if (t == nullptr) {
      std::fprintf(stderr, "error: %s\n", error.c_str());
      std::exit(2);
    }
    return t;
  }();
  return *table;
}

uint64_t ActivationBytes(GgmlType act_type, int64_t n) {
  if (act_type == GgmlType::kF32) return static_cast<uint64_t>(n) * 4;
  return RowBytes(act_type, static_cast<uint64_t>(n));
}

void QuantizeActivation(const KernelTable& table, GgmlType act_type, const float* x, int64_t n, void* out) {
  switch (act_type) {
    case GgmlType::kF32:
      std::memcpy(out, x, static_cast<size_t>(n) * 4);
      return;
    case GgmlType::kQ8_0:
      table.quantize_q8_0(x, n, out);
      return;
    case GgmlType::kQ8_K:
      table.quantize_q8_k(x, n, out);
      return;
    default:
      std::fprintf(stderr, "QuantizeActivation: unsupported activation type %s\n", GgmlTypeName(act_type));
      std::abort();
  }
}

}  // namespace st
