#include "gen/model_generator.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>

#include <fcntl.h>
#include <unistd.h>

#include <random>

#include "format/gguf_writer.h"
#include "smallthinker/context.h"
#include "smallthinker/model.h"
#include "kernels/quantize.h"
#include "util/thread_pool.h"

namespace st {
namespace {

// ---- deterministic randomness: every row has its own stream, so threads cannot change results ----

uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

uint64_t HashString(const std::string& s) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

class Rng {
 public:
  Rng(uint64_t seed, const std::string& stream, uint64_t index)
      : s_(SplitMix(SplitMix(seed ^ HashString(stream)) ^ SplitMix(index + 0x1234567ull))) {}
  uint64_t Next() {
    s_ = SplitMix(s_);
    return s_;
  }
  double Uniform() { return (Next() >> 11) * (1.0 / 9007199254740992.0); }  // [0, 1)
  float Normal() {
    if (have_spare_) {
      have_spare_ = false;
      return spare_;
    }
    const double u1 = std::max(Uniform(), 1e-300), u2 = Uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = static_cast<float>(r * std::sin(2.0 * M_PI * u2));
    have_spare_ = true;
    return static_cast<float>(r * std::cos(2.0 * M_PI * u2));
  }

 private:
  uint64_t s_;
  bool have_spare_ = false;
  float spare_ = 0.0f;
};

double NormalCdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

// Inverse of the standard normal CDF by bisection (only used a few times per file).
double NormalQuantile(double p) {
  double lo = -10.0, hi = 10.0;
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (lo + hi);
    (NormalCdf(mid) < p ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

// The router bias `h` of hot experts such that, with logits = bias + N(0, 1) noise, the hot experts
// are chosen by top-k on `rate` of the tokens (Monte Carlo with a fixed seed).
double CalibrateHotBias(uint32_t n_expert, uint32_t k, uint32_t n_hot, double rate) {
  Rng rng(7, "calibrate", 0);
  const int samples = 4000;
  std::vector<std::vector<float>> noise(samples, std::vector<float>(n_expert));
  for (auto& row : noise) {
    for (float& v : row) v = rng.Normal();
  }
  auto hot_rate = [&](double h) {
    uint64_t hot_hits = 0;
    std::vector<std::pair<float, uint32_t>> r(n_expert);
    for (const auto& row : noise) {
      for (uint32_t e = 0; e < n_expert; ++e) r[e] = {row[e] + (e < n_hot ? static_cast<float>(h) : 0.0f), e};
      std::partial_sort(r.begin(), r.begin() + k, r.end(), [](auto a, auto b) { return a.first > b.first; });
      for (uint32_t j = 0; j < k; ++j) hot_hits += r[j].second < n_hot;
    }
    return static_cast<double>(hot_hits) / (static_cast<double>(samples) * n_hot);
  };
  double lo = 0.0, hi = 12.0;
  for (int i = 0; i < 30; ++i) {
    const double mid = 0.5 * (lo + hi);
    (hot_rate(mid) < rate ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

// E[ReLU(g)^2] for g ~ N(b, 1): the mean square of an active ReGLU gate, used to scale down rows.
double MeanSquareRelu(double b) {
  const double phi = std::exp(-0.5 * b * b) / std::sqrt(2.0 * M_PI);
  return (b * b + 1.0) * NormalCdf(b) + b * phi;
}

// Everything the row generators need, derived once from the spec.
struct Plan {
  GeneratorSpec s;
  uint32_t V = 0;
  float embd_std = 0;      // per-entry std of token embeddings (and of the output matrix)
  float bias_c = 0;        // value of the constant channel x[0]
  float attn_out_scale = 0;
  float gate_bias = 0;     // b: gate pre-activation mean, so P(gate <= 0) = sparsity
  float down_std = 0;
  uint32_t n_hot = 0;
  float hot_bias = 0;
  uint32_t lowrank = 0;     // P - 1 directions shared by the output matrix and the predictor
  float profiler_tau = 0;   // predictor threshold
  std::vector<float> lowrank_basis;  // [lowrank][E] rows B_j (dimension 0 left zero)

  // Expected RMS of the residual stream at layer il (layers add small updates).
  float ResidualStd(uint32_t il) const { return embd_std * std::sqrt(1.0f + 0.03f * static_cast<float>(il)); }
  // Expected value of RMSNorm(x)[0] = c / rms(x).
  float NormedChannel(uint32_t il) const {
    const float e = static_cast<float>(s.n_embd);
    const float sx = ResidualStd(il);
    return bias_c / std::sqrt((bias_c * bias_c + (e - 1) * sx * sx) / e);
  }
};

Plan MakePlan(const GeneratorSpec& s, uint32_t V) {
  Plan p;
  p.s = s;
  p.V = V;
  const float E = static_cast<float>(s.n_embd);
  p.embd_std = 4.0f / std::sqrt(E);  // logits = W_out · xn have a std of about 4
  p.bias_c = 4.0f * p.embd_std;
  p.attn_out_scale = 0.15f * p.embd_std;
  p.gate_bias = static_cast<float>(-NormalQuantile(std::clamp<double>(s.sparsity, 0.001, 0.999)));
  p.down_std = 0.15f * p.embd_std / std::sqrt(static_cast<float>(s.n_ff_exp) * static_cast<float>(MeanSquareRelu(p.gate_bias)));
  if (s.hot_expert_rate > 0.0f) {
    p.n_hot = std::max<uint32_t>(1, static_cast<uint32_t>(std::lround(0.25 * s.n_expert)));
    const double max_rate = 0.97 * std::min(1.0, static_cast<double>(s.n_expert_used) / p.n_hot);
    p.hot_bias = static_cast<float>(CalibrateHotBias(s.n_expert, s.n_expert_used, p.n_hot,
                                                     std::min<double>(s.hot_expert_rate, max_rate)));
  }
  if (s.profiler_rank > 0) {
    p.lowrank = s.profiler_rank - 1;
    p.profiler_tau = static_cast<float>(NormalQuantile(1.0 - std::clamp<double>(s.profiler_select, 1e-4, 0.999)));
    p.lowrank_basis.assign(static_cast<size_t>(p.lowrank) * s.n_embd, 0.0f);
    for (uint32_t j = 0; j < p.lowrank; ++j) {
      Rng rng(s.seed, "lowrank_basis", j);
      for (uint32_t i = 1; i < s.n_embd; ++i) p.lowrank_basis[j * s.n_embd + i] = rng.Normal() / std::sqrt(E - 1);
    }
  }
  return p;
}

// ---- row generators: f32 rows of each tensor ----

// Output matrix row v (also the token embedding when tied): low-rank part the predictor can see,
// plus noise. Dimension 0 is left to the caller.
void OutputRow(const Plan& p, uint32_t v, float* row) {
  const uint32_t E = p.s.n_embd;
  Rng rng(p.s.seed, "output", v);
  if (p.lowrank == 0) {
    for (uint32_t i = 0; i < E; ++i) row[i] = rng.Normal() * p.embd_std;
    row[0] = 0.0f;
    return;
  }
  // row = embd_std * sqrt(E) * (0.95 * U_v·B / sqrt(lowrank) + 0.25 * noise / sqrt(E - 1)): the
  // low-rank part carries ~94% of the logit variance, so the predictor can rank rows well.
  const float gain = p.embd_std * std::sqrt(static_cast<float>(E));
  std::fill(row, row + E, 0.0f);
  Rng urng(p.s.seed, "lowrank_u", v);
  for (uint32_t j = 0; j < p.lowrank; ++j) {
    const float u = urng.Normal() * 0.95f * gain / std::sqrt(static_cast<float>(p.lowrank));
    const float* b = &p.lowrank_basis[static_cast<size_t>(j) * E];
    for (uint32_t i = 0; i < E; ++i) row[i] += u * b[i];
  }
  for (uint32_t i = 1; i < E; ++i) row[i] += rng.Normal() * 0.25f * gain / std::sqrt(static_cast<float>(E - 1));
  row[0] = 0.0f;
}

void EmbeddingRow(const Plan& p, uint32_t v, float* row) {
  if (p.s.tied_output) {
    OutputRow(p, v, row);
  } else {
    Rng rng(p.s.seed, "token_embd", v);
    for (uint32_t i = 0; i < p.s.n_embd; ++i) row[i] = rng.Normal() * p.embd_std;
  }
  row[0] = p.bias_c;  // the constant channel
}

void NormVector(const Plan& p, const std::string& name, float* out) {
  Rng rng(p.s.seed, name, 0);
  for (uint32_t i = 0; i < p.s.n_embd; ++i) out[i] = 1.0f + 0.05f * rng.Normal();
  out[0] = 1.0f;
}

// Profiler rows: W1 (rows 0..P-1, E wide) then W2 (rows V, P wide); see the header comment.
void ProfilerW1Row(const Plan& p, uint32_t j, float* row) {
  const uint32_t E = p.s.n_embd;
  std::fill(row, row + E, 0.0f);
  if (j == 0) {
    row[0] = 1.0f / p.NormedChannel(p.s.n_layer);  // z0 ~ 1: the threshold's input
  } else {
    const float* b = &p.lowrank_basis[static_cast<size_t>(j - 1) * E];
    for (uint32_t i = 1; i < E; ++i) row[i] = b[i];
  }
}

void ProfilerW2Row(const Plan& p, uint32_t v, float tau, float* row) {
  row[0] = -tau;
  Rng urng(p.s.seed, "lowrank_u", v);
  for (uint32_t j = 0; j < p.lowrank; ++j) row[j + 1] = urng.Normal() / std::sqrt(static_cast<float>(p.lowrank));
}

// ---- writing ----

struct TensorJob {
  std::string name;
  GgmlType type;
  std::vector<uint64_t> ne;
  // Fills f32 row `r` (ne[0] elements) of the tensor viewed as rows of ne[0].
  std::function<void(uint64_t r, float* row)> row;
  // Whole expert matrices: for the down projection, which must be transposed before quantizing.
  std::function<void(uint32_t x, float* matrix)> expert_matrix;  // [rows][cols] of one expert
  uint64_t rows() const { return ne.size() == 1 ? 1 : ne[1] * (ne.size() > 2 ? ne[2] : 1); }
};

Status WriteJob(GgufWriter& w, const TensorJob& job, ThreadPool& pool, std::vector<uint8_t>& buf) {
  const uint64_t cols = job.ne[0];
  const uint64_t row_bytes = RowBytes(job.type, cols);
  const uint64_t rows = job.rows();
  buf.resize(row_bytes * rows);
  if (job.expert_matrix) {
    const uint64_t X = job.ne[2], per = job.ne[1];
    pool.ParallelFor(static_cast<int64_t>(X), 1, [&](int64_t b, int64_t e) {
      std::vector<float> m(per * cols);
      for (int64_t x = b; x < e; ++x) {
        job.expert_matrix(static_cast<uint32_t>(x), m.data());
        for (uint64_t r = 0; r < per; ++r) {
          QuantizeRowRef(job.type, m.data() + r * cols, static_cast<int64_t>(cols), buf.data() + (x * per + r) * row_bytes);
        }
      }
    });
  } else {
    pool.ParallelFor(static_cast<int64_t>(rows), 64, [&](int64_t b, int64_t e) {
      std::vector<float> row(cols);
      for (int64_t r = b; r < e; ++r) {
        job.row(static_cast<uint64_t>(r), row.data());
        QuantizeRowRef(job.type, row.data(), static_cast<int64_t>(cols), buf.data() + r * row_bytes);
      }
    });
  }
  return w.WriteTensorData(buf.data(), buf.size());
}

// The predictor's threshold enters as W2[v][0] * z0 with z0 = W1[0] · x ~ RMSNorm(x)[0], whose
// size depends on how much the residual stream grew through the layers. Rather than trust an
// estimate, run the written model with the engine and adjust the threshold (rewriting the first
// block of every W2 row in place) until the predictor selects the target fraction of rows.
Status CalibrateProfiler(const std::string& path, const Plan& p, int n_threads, float* selected_fraction) {
  ST_ASSIGN_OR_RETURN(GgufFile f, GgufFile::Open(path));
  const GgufTensorInfo* t = f.FindTensor("lm_head_profiler.weight");
  if (t == nullptr) return Internal("calibration: no profiler tensor");
  const uint64_t E = p.s.n_embd, P = p.s.profiler_rank, V = p.V;
  const GgmlType type = t->type;
  const uint64_t w2_off = t->file_offset + P * RowBytes(type, E), w2_row = RowBytes(type, P);
  const uint64_t block = TraitsOf(type).block_size, block_bytes = RowBytes(type, block);
  std::vector<uint8_t> w2(V * w2_row);
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return IoError(fmt::format("'{}': cannot reopen for calibration", path));
  if (pread(fd, w2.data(), w2.size(), static_cast<off_t>(w2_off)) != static_cast<ssize_t>(w2.size())) {
    ::close(fd);
    return IoError(fmt::format("'{}': cannot read the profiler back", path));
  }
  auto set_tau = [&](float tau) -> Status {
    std::vector<float> row(P);
    for (uint64_t v = 0; v < V; ++v) {
      ProfilerW2Row(p, static_cast<uint32_t>(v), tau, row.data());
      QuantizeRowRef(type, row.data(), static_cast<int64_t>(block), w2.data() + v * w2_row);  // block 0 only
    }
    (void)block_bytes;
    if (pwrite(fd, w2.data(), w2.size(), static_cast<off_t>(w2_off)) != static_cast<ssize_t>(w2.size())) {
      return IoError(fmt::format("'{}': cannot write the calibrated profiler", path));
    }
    return Status::Ok();
  };
  auto measure = [&](float tau, float* frac) -> Status {
    ST_RETURN_IF_ERROR(set_tau(tau));
    ST_ASSIGN_OR_RETURN(std::unique_ptr<smallthinker::Model> m, smallthinker::Model::Load(path));
    smallthinker::ContextParams o;
    o.n_ctx = 64;
    o.n_threads = n_threads;
    ST_ASSIGN_OR_RETURN(std::unique_ptr<smallthinker::Context> d, smallthinker::Context::Create(*m, o));
    std::mt19937 rng(5);
    const int n = 12;
    for (int i = 0; i < n; ++i) {
      const smallthinker::Token t{static_cast<int32_t>(rng() % V), static_cast<uint32_t>(i), 0,
                                  smallthinker::Output::kLogits};
      ST_RETURN_IF_ERROR(d->Decode(std::span(&t, 1)));
    }
    *frac = static_cast<float>(static_cast<double>(d->stats().lm_head_selected) / (static_cast<double>(n) * V));
    return Status::Ok();
  };
  // Selection falls as tau grows; bisect on tau for the target fraction.
  const float target = p.s.profiler_select;
  float lo = 0.0f, hi = 2.0f * p.profiler_tau + 2.0f, frac = 0.0f;
  Status st;
  for (int it = 0; it < 14 && st.ok(); ++it) {
    const float mid = 0.5f * (lo + hi);
    st = measure(mid, &frac);
    if (std::fabs(frac - target) <= 0.1f * target) {
      lo = hi = mid;
      break;
    }
    (frac > target ? lo : hi) = mid;
  }
  if (st.ok() && lo != hi) st = measure(0.5f * (lo + hi), &frac);
  ::close(fd);
  *selected_fraction = frac;
  return st;
}

}  // namespace

Result<GeneratorSpec> PresetSpec(const std::string& preset) {
  GeneratorSpec s;
  if (preset == "tiny") {
    s.n_layer = 8;
    s.n_embd = 64;
    s.n_ff_exp = 96;
    s.n_head = 4;
    s.n_head_kv = 2;
    s.head_dim = 16;
    s.n_expert = 8;
    s.n_expert_used = 2;
    s.n_vocab = 512;
    s.n_ctx = 512;
    s.sliding_window = 16;
    s.name = "synthetic-tiny";
  } else if (preset == "4b") {
    s.n_layer = 32;
    s.n_embd = 1536;
    s.n_ff_exp = 768;
    s.n_head = 12;
    s.n_head_kv = 2;
    s.head_dim = 128;
    s.n_expert = 32;
    s.n_expert_used = 4;
    s.n_vocab = 151936;
    s.n_ctx = 32768;
    s.rope_theta = 1.5e6f;
    s.sliding_window = 0;
    s.gating = GatingKey::kAbsent;  // the 4B's FORK files omit the key (sigmoid)
    s.tied_output = true;
    s.name = "synthetic-SmallThinker-4BA0.6B";
  } else if (preset == "21b") {
    s.n_layer = 52;
    s.n_embd = 2560;
    s.n_ff_exp = 768;
    s.n_head = 28;
    s.n_head_kv = 4;
    s.head_dim = 128;
    s.n_expert = 64;
    s.n_expert_used = 6;
    s.n_vocab = 151936;
    s.n_ctx = 16384;
    s.rope_theta = 1.5e6f;
    s.sliding_window = 4096;
    s.gating = GatingKey::kSigmoid;
    s.tied_output = false;
    s.name = "synthetic-SmallThinker-21BA3B";
  } else {
    return InvalidArgument(fmt::format("unknown preset '{}' (known: tiny, 4b, 21b)", preset));
  }
  return s;
}

Status GenerateModel(const GeneratorSpec& s, const std::string& path, int n_threads) {
  // Validate the spec like a file would be validated, so the generator cannot write nonsense.
  if (s.n_embd % 32 != 0 || s.n_ff_exp % 32 != 0) return InvalidArgument("E and F must be multiples of 32");
  if (s.n_head % s.n_head_kv != 0) return InvalidArgument("n_head must be a multiple of n_head_kv");
  if (s.head_dim % 2 != 0 || s.head_dim == 0) return InvalidArgument("head_dim must be even and positive");
  if ((s.n_head * s.head_dim) % 32 != 0) return InvalidArgument("n_head * head_dim must be a multiple of 32");
  if (s.n_expert_used == 0 || s.n_expert_used > s.n_expert) return InvalidArgument("need 0 < k <= X");
  if (s.down_layout == DownLayout::kTransposed && s.n_embd == s.n_ff_exp) {
    return InvalidArgument("a transposed down layout needs E != F (the layout is detected by shape)");
  }
  if (s.profiler_rank % 32 != 0) return InvalidArgument("the profiler rank must be a multiple of 32");
  const GgmlTypeTraits& wt = TraitsOf(s.weight_type);
  if (!IsComputeType(s.weight_type)) return InvalidArgument(fmt::format("weight type {} cannot be generated", wt.name));
  if (s.n_embd % wt.block_size != 0 || s.n_ff_exp % wt.block_size != 0 || (s.n_head * s.head_dim) % wt.block_size != 0 ||
      s.profiler_rank % wt.block_size != 0) {
    return InvalidArgument(fmt::format("E, F, H and P must be multiples of the {} block size {}", wt.name, wt.block_size));
  }

  // Vocabulary.
  Vocab vocab;
  if (!s.vocab_gguf.empty()) {
    ST_ASSIGN_OR_RETURN(GgufFile vf, GgufFile::Open(s.vocab_gguf));
    ST_ASSIGN_OR_RETURN(vocab, Vocab::FromGguf(vf));
  } else {
    vocab = TinyVocab(s.n_vocab > 0 ? std::min<uint32_t>(s.n_vocab, 512) : 512);
  }
  const uint32_t V = s.n_vocab > 0 ? s.n_vocab : static_cast<uint32_t>(vocab.tokens.size());
  if (vocab.tokens.size() > V) {
    return InvalidArgument(fmt::format("the vocabulary has {} tokens, more than n_vocab {}", vocab.tokens.size(), V));
  }
  vocab.PadTo(V);

  const Plan p = MakePlan(s, V);
  const uint32_t E = s.n_embd, F = s.n_ff_exp, X = s.n_expert;
  const uint32_t H = s.n_head * s.head_dim, K = s.n_head_kv * s.head_dim;

  GgufWriter w;
  const std::string a = "smallthinker.";
  w.Set("general.architecture", GgufValue::Str("smallthinker"));
  w.Set("general.name", GgufValue::Str(s.name));
  w.Set("general.alignment", GgufValue::U32(32));
  w.Set(a + "block_count", GgufValue::U32(s.n_layer));
  w.Set(a + "context_length", GgufValue::U32(s.n_ctx));
  w.Set(a + "embedding_length", GgufValue::U32(E));
  w.Set(a + "feed_forward_length", GgufValue::U32(F));
  w.Set(a + "expert_feed_forward_length", GgufValue::U32(F));
  w.Set(a + "attention.head_count", GgufValue::U32(s.n_head));
  w.Set(a + "attention.head_count_kv", GgufValue::U32(s.n_head_kv));
  w.Set(a + "attention.key_length", GgufValue::U32(s.head_dim));
  w.Set(a + "attention.value_length", GgufValue::U32(s.head_dim));
  w.Set(a + "rope.freq_base", GgufValue::F32(s.rope_theta));
  w.Set(a + "attention.layer_norm_rms_epsilon", GgufValue::F32(s.rms_eps));
  w.Set(a + "expert_count", GgufValue::U32(X));
  w.Set(a + "expert_used_count", GgufValue::U32(s.n_expert_used));
  if (s.gating == GatingKey::kSoftmax) w.Set(a + "expert_gating_func", GgufValue::U32(1));
  if (s.gating == GatingKey::kSigmoid) w.Set(a + "expert_gating_func", GgufValue::U32(2));
  if (s.sliding_window > 0) w.Set(a + "attention.sliding_window", GgufValue::U32(s.sliding_window));
  // What the generator was asked for, so benchmarks can report it beside what they measure.
  w.Set("smallthinker_gen.seed", GgufValue::U64(s.seed));
  w.Set("smallthinker_gen.sparsity", GgufValue::F32(s.sparsity));
  w.Set("smallthinker_gen.hot_expert_rate", GgufValue::F32(s.hot_expert_rate));
  w.Set("smallthinker_gen.profiler_select", GgufValue::F32(s.profiler_select));
  vocab.WriteTo(w);

  const GgmlType wt_id = s.weight_type;
  std::vector<TensorJob> jobs;
  auto vec_job = [&](const std::string& name) {
    jobs.push_back({name, GgmlType::kF32, {E}, [&p, name](uint64_t, float* row) { NormVector(p, name, row); }, {}});
  };
  jobs.push_back({"token_embd.weight", wt_id, {E, V}, [&p](uint64_t r, float* row) { EmbeddingRow(p, r, row); }, {}});
  vec_job("output_norm.weight");
  if (!s.tied_output) {
    jobs.push_back({"output.weight", wt_id, {E, V}, [&p](uint64_t r, float* row) { OutputRow(p, r, row); }, {}});
  }
  if (s.profiler_rank > 0) {
    const uint64_t P = s.profiler_rank;
    // One tensor {P*(E+V), 1}; its "rows" for the writer are the W1 rows then the W2 rows, which
    // have different lengths, so it is written by a dedicated job below.
    jobs.push_back({"lm_head_profiler.weight", wt_id, {P * (E + V), 1}, {}, {}});
  }
  for (uint32_t il = 0; il < s.n_layer; ++il) {
    const std::string b = fmt::format("blk.{}.", il);
    vec_job(b + "attn_norm.weight");
    auto dense = [&](const std::string& name, uint64_t cols, uint64_t rows, float std_dev, bool zero_row0) {
      jobs.push_back({name, wt_id, {cols, rows}, [&p, name, cols, std_dev, zero_row0](uint64_t r, float* row) {
                        Rng rng(p.s.seed, name, r);
                        for (uint64_t i = 0; i < cols; ++i) row[i] = rng.Normal() * std_dev;
                        if (zero_row0 && r == 0) std::fill(row, row + cols, 0.0f);
                      }, {}});
    };
    dense(b + "attn_q.weight", E, H, 1.0f / std::sqrt(static_cast<float>(E)), false);
    dense(b + "attn_k.weight", E, K, 1.0f / std::sqrt(static_cast<float>(E)), false);
    dense(b + "attn_v.weight", E, K, 1.0f / std::sqrt(static_cast<float>(E)), false);
    dense(b + "attn_output.weight", H, E, p.attn_out_scale / std::sqrt(static_cast<float>(H)), true);
    vec_job(b + "ffn_norm.weight");
    // Router: r_e = bias_e (through x[0] = c) + N(0, 1) noise from the other dimensions.
    {
      const std::string name = b + "ffn_gate_inp.weight";
      std::vector<uint32_t> perm(X);  // which experts are hot differs per layer
      for (uint32_t e = 0; e < X; ++e) perm[e] = e;
      Rng prng(s.seed, name + ".perm", 0);
      for (uint32_t e = X; e > 1; --e) std::swap(perm[e - 1], perm[prng.Next() % e]);
      jobs.push_back({name, GgmlType::kF32, {E, X}, [&p, name, il, perm](uint64_t r, float* row) {
                        Rng rng(p.s.seed, name, r);
                        const float noise = 1.0f / (std::sqrt(static_cast<float>(p.s.n_embd - 1)) * p.ResidualStd(il));
                        for (uint32_t i = 1; i < p.s.n_embd; ++i) row[i] = rng.Normal() * noise;
                        const bool hot = perm[r] < p.n_hot;
                        row[0] = (hot ? p.hot_bias : 0.0f) / p.bias_c;
                      }, {}});
    }
    // Gate: bias through u[0] = c / rms(x) so that P(gate <= 0) = sparsity.
    {
      const std::string name = b + "ffn_gate_exps.weight";
      jobs.push_back({name, wt_id, {E, F, X}, [&p, name, il](uint64_t r, float* row) {
                        Rng rng(p.s.seed, name, r);
                        const uint32_t n = p.s.n_embd;
                        for (uint32_t i = 1; i < n; ++i) row[i] = rng.Normal() / std::sqrt(static_cast<float>(n - 1));
                        row[0] = p.gate_bias / p.NormedChannel(il);
                      }, {}});
    }
    dense(b + "ffn_up_exps.weight", E, static_cast<uint64_t>(F) * X, 1.0f / std::sqrt(static_cast<float>(E)), false);
    jobs.back().ne = {E, F, X};
    // Down: generated in the normal orientation [E rows][F cols] per expert, row 0 zero; the
    // transposed layout writes the same matrix transposed (so both layouts hold one model).
    {
      const std::string name = b + "ffn_down_exps.weight";
      const bool transposed = s.down_layout == DownLayout::kTransposed;
      TensorJob job{name, wt_id, transposed ? std::vector<uint64_t>{E, F, X} : std::vector<uint64_t>{F, E, X}, {}, {}};
      job.expert_matrix = [&p, name, transposed](uint32_t x, float* m) {
        const uint32_t E = p.s.n_embd, F = p.s.n_ff_exp;
        for (uint32_t e = 0; e < E; ++e) {
          Rng rng(p.s.seed, name, static_cast<uint64_t>(x) * E + e);
          for (uint32_t n = 0; n < F; ++n) {
            const float v = e == 0 ? 0.0f : rng.Normal() * p.down_std;
            if (transposed) {
              m[static_cast<size_t>(n) * E + e] = v;  // [F rows][E cols]
            } else {
              m[static_cast<size_t>(e) * F + n] = v;  // [E rows][F cols]
            }
          }
        }
      };
      jobs.push_back(std::move(job));
    }
  }

  for (const TensorJob& j : jobs) w.AddTensor(j.name, j.type, j.ne);
  ST_RETURN_IF_ERROR(w.WriteHeader(path));
  ThreadPool pool(n_threads);
  std::vector<uint8_t> buf;
  for (const TensorJob& j : jobs) {
    if (j.name == "lm_head_profiler.weight") {
      const uint64_t P = s.profiler_rank;
      const uint64_t w1_row = RowBytes(j.type, E), w2_row = RowBytes(j.type, P);
      buf.assign(P * w1_row + static_cast<uint64_t>(V) * w2_row, 0);
      std::vector<float> row(std::max<uint64_t>(E, P));
      for (uint64_t r = 0; r < P; ++r) {
        ProfilerW1Row(p, static_cast<uint32_t>(r), row.data());
        QuantizeRowRef(j.type, row.data(), E, buf.data() + r * w1_row);
      }
      pool.ParallelFor(V, 256, [&](int64_t b, int64_t e) {
        std::vector<float> r2(P);
        for (int64_t v = b; v < e; ++v) {
          ProfilerW2Row(p, static_cast<uint32_t>(v), p.profiler_tau, r2.data());
          QuantizeRowRef(j.type, r2.data(), static_cast<int64_t>(P), buf.data() + P * w1_row + v * w2_row);
        }
      });
      ST_RETURN_IF_ERROR(w.WriteTensorData(buf.data(), buf.size()));
      continue;
    }
    ST_RETURN_IF_ERROR(WriteJob(w, j, pool, buf));
  }
  ST_RETURN_IF_ERROR(w.Finish());
  if (s.profiler_rank > 0) {
    float frac = 0;
    ST_RETURN_IF_ERROR(CalibrateProfiler(path, p, n_threads, &frac));
    std::fprintf(stderr, "profiler calibrated: selects %.1f%% of the vocabulary rows (target %.1f%%)\n", 100.0 * frac,
                 100.0 * s.profiler_select);
  }
  return Status::Ok();
}

}  // namespace st
