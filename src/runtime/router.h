// The pre-attention router's top-k selection (spec §4.2.2).
#pragma once

#include <cstdint>
#include <vector>

#include "model/model_config.h"

namespace st {

struct ExpertSelection {
  std::vector<int32_t> experts;  // [k] chosen expert ids, in descending router-logit order
  std::vector<float> weights;    // [k] renormalized gate weights, summing to 1
};

// Picks the k largest of `logits` [X] (ties: lower index first) and their weights:
// softmax gating -> softmax over the k selected logits; sigmoid -> sigma(r_j) / sum_sel sigma(r).
void SelectExperts(const float* logits, int32_t n_expert, int32_t k, RouterGating gating, ExpertSelection* out);

}  // namespace st
