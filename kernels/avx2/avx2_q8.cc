// AVX2 kernels of Q4_0 and Q8_0 weights (Q8_0 activations). See q8_0_tile.h.
#include "kernels/avx2/avx2_fill.h"
#include "kernels/avx2/q8_0_tile.h"

namespace st {
namespace {

template <class Ops>
using Entries = MatEntries<TileShape<Q8Tiles<Ops>, 4, 1>, TileShape<Q8Tiles<Ops>, 2, 4>>;


}  // namespace

void FillAvx2Q8(KernelTable* t) {
  WeightKernels& q4 = t->weights[static_cast<int>(GgmlType::kQ4_0)];
  Entries<Q4_0Madd>::Fill(&q4);
  AxpyEntries<AxpyGroupQ<BlockInt8Q4_0, 18>, 4>::Fill(&q4);
  q4.dequantize = DequantizeQ<BlockInt8Q4_0, 18>;

  WeightKernels& q8 = t->weights[static_cast<int>(GgmlType::kQ8_0)];
  Entries<Q8_0Madd>::Fill(&q8);
  AxpyEntries<AxpyGroupQ<BlockInt8Q8_0, 34>, 4>::Fill(&q8);
  q8.dequantize = DequantizeQ<BlockInt8Q8_0, 34>;

  t->quantize_q8_0 = QuantizeQ8_0Avx2;
}

}  // namespace st
