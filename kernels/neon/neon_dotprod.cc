// NEON kernels with the Armv8.2 dot product (sdot): the integer dots of Q4_0/Q8_0 and the
// K-quants. Compiled with -march=armv8.2-a+dotprod; only called when HWCAP_ASIMDDP says so. The
// rest of the table is the baseline NEON one.
#include "kernels/neon/kquant_impl.h"
#include "kernels/neon/neon_fill.h"
#include "kernels/neon/q8_impl.h"

namespace st {
namespace {

// Exact int32 dot of 16 int8 pairs as 4 lanes: lane k sums elements 4k..4k+3.
struct SdotDot {
  static int32x4_t Dot16(int8x16_t a, int8x16_t b) { return vdotq_s32(vdupq_n_s32(0), a, b); }
};

}  // namespace

void FillNeonDotprod(KernelTable* t) {
  Q8Entries<Q4_0Ops, SdotDot>::Fill(&t->weights[static_cast<int>(GgmlType::kQ4_0)]);
  Q8Entries<Q8_0Ops, SdotDot>::Fill(&t->weights[static_cast<int>(GgmlType::kQ8_0)]);
  KEntries<Q45KDot<false, SdotDot>>::Fill(&t->weights[static_cast<int>(GgmlType::kQ4_K)]);
  KEntries<Q45KDot<true, SdotDot>>::Fill(&t->weights[static_cast<int>(GgmlType::kQ5_K)]);
  KEntries<Q6KDot<SdotDot>>::Fill(&t->weights[static_cast<int>(GgmlType::kQ6_K)]);
}

}  // namespace st
