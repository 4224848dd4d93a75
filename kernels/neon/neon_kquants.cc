// NEON (baseline) kernels of the K-quants. See kquant_impl.h.
#include "kernels/neon/kquant_impl.h"
#include "kernels/neon/neon_fill.h"

namespace st {
namespace {

template <class Dot, GgmlType kType>
void FillK(WeightKernels* k) {
  KEntries<Dot>::Fill(k);
  k->axpy_indexed = AxpyIndexedK<kType, Dot::kBlockBytes>;
  k->axpy = AxpyK<kType, Dot::kBlockBytes>;
  k->axpy_multi = AxpyMultiByToken<AxpyIndexedK<kType, Dot::kBlockBytes>>;
  k->dequantize = DequantizeK<kType, Dot::kBlockBytes>;
}

}  // namespace

void FillNeonKQuants(KernelTable* t) {
  FillK<Q45KDot<false, BaseDot>, GgmlType::kQ4_K>(&t->weights[static_cast<int>(GgmlType::kQ4_K)]);
  FillK<Q45KDot<true, BaseDot>, GgmlType::kQ5_K>(&t->weights[static_cast<int>(GgmlType::kQ5_K)]);
  FillK<Q6KDot<BaseDot>, GgmlType::kQ6_K>(&t->weights[static_cast<int>(GgmlType::kQ6_K)]);
  t->quantize_q8_k = QuantizeQ8_K;
}

}  // namespace st
