// smallthinker-gen: write a synthetic SmallThinker GGUF model (see model_generator.h for what the
// weights look like and why).
//
//   smallthinker-gen --preset tiny -o /tmp/tiny.gguf
//   smallthinker-gen --preset 4b --type q4_0 --down transposed --profiler-rank 128
//   (continued) --sparsity 0.7 --hot-expert-rate 0.45 -o build/models/4b-q4_0.gguf
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>

#include "cli/exit_codes.h"
#include "gen/model_generator.h"
#include "util/output_file.h"
#include "util/thread_pool.h"

int main(int argc, char** argv) {
  CLI::App app{"smallthinker-gen: write a synthetic SmallThinker GGUF model, deterministic from a seed"};
  app.footer(st::kExitCodesHelp);
  std::string preset = "tiny", out, type = "f32", gating, down = "normal", vocab_gguf;
  int threads = st::DefaultThreadCount();
  bool tied = false, untied = false;
  st::GeneratorSpec o;  // overrides; 0 / negative = keep the preset's value
  o = st::GeneratorSpec{};
  uint32_t layers = 0, embd = 0, ff = 0, heads = 0, kv_heads = 0, head_dim = 0, experts = 0, used = 0, vocab = 0,
           ctx = 0, profiler_rank = 0;
  int64_t window = -1;
  float theta = 0, sparsity = -1, hot = -1, select = -1;
  uint64_t seed = 1;
  std::string name;
  app.add_option("--preset", preset, "shape: tiny, 4b or 21b")->capture_default_str();
  app.add_option("-o,--output", out, "output GGUF path")->required();
  app.add_option("--type", type, "weight type: f32, f16, bf16, q8_0, q4_0")->capture_default_str();
  app.add_option("--layers", layers, "override: block count");
  app.add_option("--embd", embd, "override: E (multiple of 32)");
  app.add_option("--ff", ff, "override: expert F (multiple of 32)");
  app.add_option("--heads", heads, "override: attention heads");
  app.add_option("--kv-heads", kv_heads, "override: kv heads");
  app.add_option("--head-dim", head_dim, "override: Dh");
  app.add_option("--experts", experts, "override: X");
  app.add_option("--experts-used", used, "override: k");
  app.add_option("--vocab", vocab, "override: V (vocabulary padded with [PAD<i>] tokens)");
  app.add_option("--ctx", ctx, "override: training context length");
  app.add_option("--rope-theta", theta, "override: rope freq base");
  app.add_option("--sliding-window", window, "override: sliding window (0 = no key: every layer RoPE + global)");
  app.add_option("--gating", gating, "expert_gating_func key: absent, softmax or sigmoid");
  app.add_flag("--tied", tied, "no output.weight: the LM head is token_embd");
  app.add_flag("--untied", untied, "write a separate output.weight");
  app.add_option("--down", down, "ffn_down_exps layout: normal {F,E,X} or transposed {E,F,X}")->capture_default_str();
  app.add_option("--profiler-rank", profiler_rank, "write lm_head_profiler with rank P (multiple of 32; 0 = none)");
  app.add_option("--seed", seed, "random seed")->capture_default_str();
  app.add_option("--sparsity", sparsity, "target fraction of inactive ReGLU neurons (default 0.5: no gate bias)");
  app.add_option("--hot-expert-rate", hot, "firing rate of the hot quarter of experts per layer (0 = uniform)");
  app.add_option("--profiler-select", select, "fraction of vocabulary rows the predictor should select (default 0.05)");
  app.add_option("--vocab-gguf", vocab_gguf, "copy the tokenizer from this GGUF (e.g. made by smallthinker-vocab)");
  app.add_option("--name", name, "general.name");
  app.add_option("-t,--threads", threads, "threads")->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? st::kExitOk : st::kExitUsage;
  }
  auto spec_r = st::PresetSpec(preset);
  if (!spec_r.ok()) {
    std::fprintf(stderr, "error: %s\n", spec_r.status().message().c_str());
    return st::kExitUsage;
  }
  st::GeneratorSpec s = *spec_r;
  auto set = [](auto& field, auto v) {
    if (v > 0) field = v;
  };
  set(s.n_layer, layers);
  set(s.n_embd, embd);
  set(s.n_ff_exp, ff);
  set(s.n_head, heads);
  set(s.n_head_kv, kv_heads);
  set(s.head_dim, head_dim);
  set(s.n_expert, experts);
  set(s.n_expert_used, used);
  set(s.n_vocab, vocab);
  set(s.n_ctx, ctx);
  set(s.rope_theta, theta);
  if (window >= 0) s.sliding_window = static_cast<uint32_t>(window);
  if (sparsity >= 0) s.sparsity = sparsity;
  if (hot >= 0) s.hot_expert_rate = hot;
  if (select >= 0) s.profiler_select = select;
  s.profiler_rank = profiler_rank;
  s.seed = seed;
  s.vocab_gguf = vocab_gguf;
  if (!name.empty()) s.name = name;
  if (tied && untied) {
    std::fprintf(stderr, "error: --tied and --untied conflict\n");
    return st::kExitUsage;
  }
  if (tied) s.tied_output = true;
  if (untied) s.tied_output = false;
  if (!gating.empty()) {
    if (gating == "absent") s.gating = st::GatingKey::kAbsent;
    else if (gating == "softmax") s.gating = st::GatingKey::kSoftmax;
    else if (gating == "sigmoid") s.gating = st::GatingKey::kSigmoid;
    else {
      std::fprintf(stderr, "error: --gating must be absent, softmax or sigmoid, not '%s'\n", gating.c_str());
      return st::kExitUsage;
    }
  }
  if (down != "normal" && down != "transposed") {
    std::fprintf(stderr, "error: --down must be normal or transposed, not '%s'\n", down.c_str());
    return st::kExitUsage;
  }
  s.down_layout = down == "transposed" ? st::DownLayout::kTransposed : st::DownLayout::kNormal;
  auto t = st::ParseGgmlType(type);
  if (!t) {
    std::fprintf(stderr, "error: unknown weight type '%s'\n", type.c_str());
    return st::kExitUsage;
  }
  s.weight_type = *t;
  // The tokenizer source is read while the model is written: -o must name another file.
  if (st::Status c = st::CheckOutputsAreNotInputs({{"-o", out}}, {{"--vocab-gguf", vocab_gguf}}); !c.ok()) {
    std::fprintf(stderr, "error: %s\n", c.message().c_str());
    return st::kExitUsage;
  }
  const auto t0 = std::chrono::steady_clock::now();
  st::Status status = st::GenerateModel(s, out, threads);
  if (!status.ok()) {
    std::fprintf(stderr, "error: %s\n", status.message().c_str());
    return status.code() == st::StatusCode::kInvalidArgument ? st::kExitUsage : st::kExitIo;
  }
  const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::fprintf(stderr, "wrote %s (%s, %s down, %s output%s) in %.1f s\n", out.c_str(), st::GgmlTypeName(s.weight_type),
               down.c_str(), s.tied_output ? "tied" : "separate",
               s.profiler_rank ? (", profiler rank " + std::to_string(s.profiler_rank)).c_str() : "", sec);
  return st::kExitOk;
}
