#include "runtime/router.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace st {

void SelectExperts(const float* logits, int32_t n_expert, int32_t k, RouterGating gating, ExpertSelection* out) {
  std::vector<int32_t> order(n_expert);
  std::iota(order.begin(), order.end(), 0);
  // Descending by logit; ties keep the lower index first (stable on an index-sorted input).
  // NaN (a broken model) ranks lowest so the comparison stays a strict weak order.
  auto key = [logits](int32_t i) { return std::isnan(logits[i]) ? -INFINITY : logits[i]; };
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&key](int32_t a, int32_t b) {
    const float ka = key(a), kb = key(b);
    return ka > kb || (ka == kb && a < b);
  });
  out->experts.assign(order.begin(), order.begin() + k);
  out->weights.resize(k);
  if (gating == RouterGating::kSoftmax) {
    const float max = logits[out->experts[0]];
    double sum = 0.0;
    for (int32_t j = 0; j < k; ++j) {
      out->weights[j] = std::exp(logits[out->experts[j]] - max);
      sum += out->weights[j];
    }
    for (float& w : out->weights) w = static_cast<float>(w / sum);
  } else {
    double sum = 0.0;
    for (int32_t j = 0; j < k; ++j) {
      out->weights[j] = 1.0f / (1.0f + std::exp(-logits[out->experts[j]]));
      sum += out->weights[j];
    }
    for (float& w : out->weights) w = static_cast<float>(w / sum);
  }
}

}  // namespace st
