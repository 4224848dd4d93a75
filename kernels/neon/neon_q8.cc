// NEON (baseline) kernels of Q4_0 and Q8_0 weights. See q8_impl.h.
#include "kernels/neon/neon_fill.h"
#include "kernels/neon/q8_impl.h"

namespace st {
namespace {

template <class Ops>
void FillQ(WeightKernels* k) {
  Q8Entries<Ops, BaseDot>::Fill(k);
  k->axpy_indexed = AxpyIndexedQ<Ops>;
  k->axpy = AxpyQ<Ops>;
  k->axpy_multi = AxpyMultiByToken<AxpyIndexedQ<Ops>>;
  k->dequantize = DequantizeQ<Ops>;
}

}  // namespace

void FillNeonQ8(KernelTable* t) {
  FillQ<Q4_0Ops>(&t->weights[static_cast<int>(GgmlType::kQ4_0)]);
  FillQ<Q8_0Ops>(&t->weights[static_cast<int>(GgmlType::kQ8_0)]);
  t->quantize_q8_0 = QuantizeQ8_0;
}

}  // namespace st
