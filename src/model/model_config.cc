#include "model/model_config.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "util/escape.h"

namespace st {

const char* RouterGatingName(RouterGating g) { return g == RouterGating::kSoftmax ? "softmax" : "sigmoid"; }

namespace {

constexpr uint64_t kMaxDim = 1u << 20;  // no dimension of a sane model exceeds this

Result<uint32_t> ReadDim(const GgufFile& f, const std::string& key, uint64_t min, uint64_t max) {
  ST_ASSIGN_OR_RETURN(uint64_t v, f.GetUint(key));
  if (v < min || v > max) return InvalidFile(fmt::format("key '{}': value {} is outside the valid range {}..{}", key, v, min, max));
  return static_cast<uint32_t>(v);
}

}  // namespace

Result<ModelConfig> ReadModelConfig(const GgufFile& f, GatingOverride override) {
  ModelConfig c;
  ST_ASSIGN_OR_RETURN(c.arch, f.GetString("general.architecture"));
  if (c.arch != "smallthinker") {
    return Unsupported(fmt::format("key 'general.architecture': model architecture is \"{}\", expected \"smallthinker\"",
                                   EscapeForDisplay(c.arch)));
  }
  ST_ASSIGN_OR_RETURN(auto name, f.GetOptionalString("general.name"));
  c.name = name.value_or("");
  const std::string p = "smallthinker.";
  ST_ASSIGN_OR_RETURN(c.n_layer, ReadDim(f, p + "block_count", 1, 4096));
  ST_ASSIGN_OR_RETURN(c.n_ctx_train, ReadDim(f, p + "context_length", 1, 1u << 24));
  ST_ASSIGN_OR_RETURN(c.n_embd, ReadDim(f, p + "embedding_length", 1, kMaxDim));
  ST_ASSIGN_OR_RETURN(c.n_head, ReadDim(f, p + "attention.head_count", 1, 4096));
  ST_ASSIGN_OR_RETURN(c.n_head_kv, ReadDim(f, p + "attention.head_count_kv", 1, 4096));
  if (c.n_head % c.n_head_kv != 0) {
    return InvalidFile(fmt::format("key '{}attention.head_count': {} heads is not a multiple of {} kv heads", p, c.n_head, c.n_head_kv));
  }
  ST_ASSIGN_OR_RETURN(c.head_dim, ReadDim(f, p + "attention.key_length", 2, 4096));
  if (c.head_dim % 2 != 0) return InvalidFile(fmt::format("key '{}attention.key_length': {} is odd; RoPE needs an even head size", p, c.head_dim));
  ST_ASSIGN_OR_RETURN(auto vlen, f.GetOptionalUint(p + "attention.value_length"));
  if (vlen && (*vlen == 0 || *vlen > 4096)) {  // checked before narrowing: 2^32 + 16 must not read as 16
    return InvalidFile(fmt::format("key '{}attention.value_length': value {} is outside the valid range 1..4096", p, *vlen));
  }
  c.value_dim = static_cast<uint32_t>(vlen.value_or(c.head_dim));

  ST_ASSIGN_OR_RETURN(auto ff_exp, f.GetOptionalUint(p + "expert_feed_forward_length"));
  if (ff_exp) {
    ST_ASSIGN_OR_RETURN(c.n_ff_exp, ReadDim(f, p + "expert_feed_forward_length", 1, kMaxDim));
  } else {
    ST_ASSIGN_OR_RETURN(c.n_ff_exp, ReadDim(f, p + "feed_forward_length", 1, kMaxDim));
  }
  ST_ASSIGN_OR_RETURN(c.n_expert, ReadDim(f, p + "expert_count", 1, 4096));
  ST_ASSIGN_OR_RETURN(c.n_expert_used, ReadDim(f, p + "expert_used_count", 1, 4096));
  if (c.n_expert_used > c.n_expert) {
    return InvalidFile(fmt::format("key '{}expert_used_count': {} experts per token, but the model has only {}", p, c.n_expert_used, c.n_expert));
  }

  ST_ASSIGN_OR_RETURN(auto theta, f.GetOptionalFloat(p + "rope.freq_base"));
  c.rope_freq_base = static_cast<float>(theta.value_or(10000.0));
  if (!(c.rope_freq_base > 0.0f) || !std::isfinite(c.rope_freq_base)) {
    return InvalidFile(fmt::format("key '{}rope.freq_base': {} is not a positive finite number", p, c.rope_freq_base));
  }
  ST_ASSIGN_OR_RETURN(double eps, f.GetFloat(p + "attention.layer_norm_rms_epsilon"));
  if (!(eps > 0.0) || !(eps < 1.0)) {
    return InvalidFile(fmt::format("key '{}attention.layer_norm_rms_epsilon': {} is outside (0, 1)", p, eps));
  }
  c.rms_eps = static_cast<float>(eps);

  ST_ASSIGN_OR_RETURN(auto window, f.GetOptionalUint(p + "attention.sliding_window"));
  if (window && *window > std::numeric_limits<uint32_t>::max()) {
    return InvalidFile(fmt::format("key '{}attention.sliding_window': {} does not fit in u32", p, *window));
  }
  c.sliding_window = static_cast<uint32_t>(window.value_or(0));

  // Gating: 1 softmax, 2 sigmoid; absent means sigmoid (the training semantics, see the spec).
  ST_ASSIGN_OR_RETURN(auto gating, f.GetOptionalUint(p + "expert_gating_func"));
  if (gating) {
    if (*gating == 1) {
      c.gating = RouterGating::kSoftmax;
    } else if (*gating == 2) {
      c.gating = RouterGating::kSigmoid;
    } else {
      return InvalidFile(fmt::format("key '{}expert_gating_func': {} is not 1 (softmax) or 2 (sigmoid)", p, *gating));
    }
    c.gating_in_file = true;
  }
  if (override == GatingOverride::kSoftmax) c.gating = RouterGating::kSoftmax;
  if (override == GatingOverride::kSigmoid) c.gating = RouterGating::kSigmoid;

  const GgufTensorInfo* embd = f.FindTensor("token_embd.weight");
  if (embd == nullptr) return NotFound("missing tensor 'token_embd.weight'");
  if (embd->n_dims != 2 || embd->ne[0] != c.n_embd || embd->ne[1] == 0 || embd->ne[1] > (1u << 24)) {
    return InvalidFile(fmt::format("tensor 'token_embd.weight': shape {}, expected {{{}, V}} with 0 < V <= 16777216",
                                   embd->ShapeString(), c.n_embd));
  }
  c.n_vocab = static_cast<uint32_t>(embd->ne[1]);
  return c;
}

std::string ModelConfig::Describe() const {
  std::string s;
  // arch and name come from the file: escaped, so that -v cannot send control sequences.
  s += fmt::format("arch = {}{}\n", EscapeForDisplay(arch), name.empty() ? "" : " (" + EscapeForDisplay(name) + ")");
  s += fmt::format("layers = {}, E = {}, V = {}, context (train) = {}\n", n_layer, n_embd, n_vocab, n_ctx_train);
  s += fmt::format("heads = {} / kv {}, Dh = {}, Dv = {}, rope theta = {}, rms eps = {}\n", n_head, n_head_kv, head_dim,
                   value_dim, rope_freq_base, rms_eps);
  s += fmt::format("experts = {}, used = {}, F = {}, gating = {}{}\n", n_expert, n_expert_used, n_ff_exp,
                   RouterGatingName(gating), gating_in_file ? "" : " (key absent: sigmoid, per training semantics)");
  if (sliding_window > 0) {
    s += fmt::format("attention: layers il % 4 == 0 NoPE + global, others RoPE + sliding window {}\n", sliding_window);
  } else {
    s += "attention: RoPE + global on every layer\n";
  }
  return s;
}

}  // namespace st
