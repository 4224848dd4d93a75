// smallthinker-perplexity: perplexity of a text under a model, and KL divergence between two
// models (or weight types) on the same text, in llama-perplexity's form.
//
//   smallthinker-perplexity -m model.gguf -f text.txt -c 512                 # PPL ± error
//   smallthinker-perplexity -m f32.gguf -f text.txt --kl-divergence-base base.kld   # also save
//   smallthinker-perplexity -m q4_0.gguf --kl-divergence-base base.kld --kl-divergence
//
// The text is tokenized and cut into chunks of -c tokens; each chunk is evaluated from an empty
// context and the second half of its positions are scored (each of those predictions saw at least
// c/2 tokens of context), as llama-perplexity does. PPL = exp(mean NLL); the error is the standard
// error of the mean NLL carried through exp.
//
// The base file stores the scored tokens and, for every scored position, the log-probabilities of
// the whole vocabulary as fp16 — enough to compute KL(base || model) later with another model.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "cli/exit_codes.h"
#include "common/llama_flags.h"
#include "common/output_check.h"
#include "common/run_options.h"
#include "text/tokenizer.h"
#include "text/unicode.h"
#include "util/escape.h"
#include "util/half.h"
#include "util/output_file.h"

namespace st {
namespace {

constexpr char kKldMagic[8] = {'S', 'T', 'K', 'L', 'D', '0', '0', '1'};

struct Args {
  RunOptions run;
  std::string file;
  int chunks = -1;
  std::string kld_base;
  bool kld = false;
};

// log-softmax of one position, in double for the sums.
void LogSoftmax(const float* logits, uint32_t V, std::vector<double>* out) {
  double max = logits[0];
  for (uint32_t v = 1; v < V; ++v) max = std::max<double>(max, logits[v]);
  double sum = 0;
  for (uint32_t v = 0; v < V; ++v) sum += std::exp(logits[v] - max);
  const double lse = max + std::log(sum);
  out->resize(V);
  for (uint32_t v = 0; v < V; ++v) (*out)[v] = logits[v] - lse;
}

struct MeanStat {  // running mean and standard error
  double sum = 0, sum2 = 0;
  uint64_t n = 0;
  void Add(double x) {
    sum += x;
    sum2 += x * x;
    ++n;
  }
  double Mean() const { return n ? sum / n : 0.0; }
  double StdErr() const {
    if (n < 2) return 0.0;
    const double m = Mean();
    return std::sqrt(std::max(0.0, sum2 / n - m * m) / (n - 1));
  }
};

int Fail(int code, const std::string& msg) {
  std::fprintf(stderr, "error: %s\n", EscapeForDisplay(msg).c_str());  // may quote the model file's strings
  return code;
}

// Each chunk scores positions c/2 .. c-2: a context below this scores nothing (and PPL would be
// exp(0) = 1 over zero tokens).
constexpr uint32_t kMinScoringContext = 3;

Status TooShort(uint32_t n_ctx) {
  return InvalidArgument(fmt::format("-c {}: too short to score anything (each chunk scores positions c/2..c-2); "
                                     "use -c {} or more", n_ctx, kMinScoringContext));
}

int Run(const Args& a) {
  if (a.kld && a.kld_base.empty()) return Fail(kExitUsage, "--kl-divergence needs --kl-divergence-base FILE (made by a base run)");
  const bool write_base = !a.kld_base.empty() && !a.kld;
  if (!a.kld && a.file.empty()) return Fail(kExitUsage, "give the text with -f FILE");
  if (a.run.n_ctx != 0 && a.run.n_ctx < kMinScoringContext) return Fail(kExitUsage, TooShort(a.run.n_ctx).message());
  if (write_base) {
    const Status s = CheckOutputsAreNotInputs({{"--kl-divergence-base", a.kld_base}},
                                              {{"-m", a.run.model}, {"-f", a.file}, {"--expert-file", a.run.expert_file}});
    if (!s.ok()) return Fail(kExitUsage, s.message());
  }

  int code = kExitError;
  RunOptions ro = a.run;
  ro.lm_head = "exact";  // perplexity needs the whole distribution
  // Every position's logits, a batch at a time, kept for the whole chunk (the plan counts both).
  ro.max_outputs = ro.batch_size;
  ro.caller_logit_rows = ro.n_ctx > 0 ? ro.n_ctx : UINT32_MAX;  // -c 0: the model's context
  auto loaded = LoadForRun(ro, &code);
  if (!loaded.ok()) return Fail(code, loaded.status().message());
  smallthinker::Context& dec = *loaded->context;
  const uint32_t V = dec.n_vocab();
  const uint32_t n_ctx = dec.n_ctx();
  if (n_ctx < kMinScoringContext) return Fail(kExitUsage, TooShort(n_ctx).message());  // -c 0: the model's

  std::vector<int32_t> tokens;
  uint64_t n_chunk = 0;
  uint32_t first = n_ctx / 2;
  std::ifstream base_in;
  if (a.kld) {
    base_in.open(a.kld_base, std::ios::binary);
    if (!base_in) return Fail(kExitIo, fmt::format("cannot open '{}'", a.kld_base));
    char magic[8];
    uint32_t bv = 0, bctx = 0;
    uint64_t bchunk = 0, ntok = 0;
    base_in.read(magic, 8).read(reinterpret_cast<char*>(&bv), 4).read(reinterpret_cast<char*>(&bctx), 4);
    base_in.read(reinterpret_cast<char*>(&bchunk), 8).read(reinterpret_cast<char*>(&ntok), 8);
    if (!base_in || std::memcmp(magic, kKldMagic, 8) != 0) return Fail(kExitIo, fmt::format("'{}' is not a KL-divergence base file", a.kld_base));
    if (bv != V) return Fail(kExitUsage, fmt::format("'{}' was made with a vocabulary of {} tokens, this model has {}", a.kld_base, bv, V));
    if (bctx != n_ctx) return Fail(kExitUsage, fmt::format("'{}' was made with -c {}; use the same -c (now {})", a.kld_base, bctx, n_ctx));
    if (ntok > (1ull << 32)) return Fail(kExitIo, fmt::format("'{}': corrupt token count", a.kld_base));
    tokens.resize(ntok);
    base_in.read(reinterpret_cast<char*>(tokens.data()), ntok * 4);
    if (!base_in) return Fail(kExitIo, fmt::format("'{}' is truncated", a.kld_base));
    n_chunk = bchunk;
  } else {
    std::ifstream in(a.file, std::ios::binary);
    if (!in) return Fail(kExitIo, fmt::format("cannot read '{}'", a.file));
    std::stringstream ss;
    ss << in.rdbuf();
    if (in.bad()) return Fail(kExitIo, fmt::format("'{}': read failed", a.file));
    std::string text = ss.str();
    StripUtf8Bom(text);
    if (!loaded->model->has_tokenizer()) return Fail(kExitModel, loaded->model->tokenizer_error().message());
    const smallthinker::Tokenizer& tok = loaded->model->tokenizer();
    tokens = tok.Encode(text, tok.add_bos(), /*parse_special=*/false);
    n_chunk = tokens.size() / n_ctx;
    if (a.chunks >= 0) n_chunk = std::min<uint64_t>(n_chunk, static_cast<uint64_t>(a.chunks));
    if (n_chunk == 0) {
      return Fail(kExitUsage, fmt::format("the text has {} tokens, fewer than one chunk of -c {}", tokens.size(), n_ctx));
    }
    tokens.resize(n_chunk * n_ctx);
  }
  std::fprintf(stderr, "perplexity: %llu chunks of %u tokens, scoring positions %u..%u of each\n",
               static_cast<unsigned long long>(n_chunk), n_ctx, first, n_ctx - 2);

  // The base is written to a temporary that replaces the file only when the run succeeds; every
  // write is checked (a full disk must not leave a base that looks whole).
  OutputFile base_out;
  auto put = [&](const void* p, size_t n) { return base_out.Write(std::string(static_cast<const char*>(p), n)); };
  if (write_base) {
    auto f = OutputFile::Open(a.kld_base, "--kl-divergence-base");
    if (!f.ok()) return Fail(kExitIo, f.status().message());
    base_out = std::move(*f);
    const uint64_t ntok = tokens.size();
    if (!put(kKldMagic, 8) || !put(&V, 4) || !put(&n_ctx, 4) || !put(&n_chunk, 8) || !put(&ntok, 8) ||
        !put(tokens.data(), ntok * 4)) {
      return Fail(kExitIo, base_out.Commit().message());
    }
  }

  MeanStat nll, base_nll, kld, same_top;
  std::vector<double> kld_values;
  std::vector<float> logits;
  std::vector<double> lp, base_lp(V);
  std::vector<uint16_t> half(V);
  const auto t0 = std::chrono::steady_clock::now();
  for (uint64_t c = 0; c < n_chunk; ++c) {
    std::span<const int32_t> chunk(tokens.data() + c * n_ctx, n_ctx);
    logits.clear();
    auto r = dec.Prefill(0, chunk, 0, &logits);
    if (!r.ok()) return Fail(kExitError, r.status().message());
    for (uint32_t j = first; j + 1 < n_ctx; ++j) {
      LogSoftmax(logits.data() + static_cast<size_t>(j) * V, V, &lp);
      const int32_t next = chunk[j + 1];
      nll.Add(-lp[next]);
      if (write_base) {
        for (uint32_t v = 0; v < V; ++v) half[v] = FloatToHalf(static_cast<float>(lp[v]));
        if (!put(half.data(), V * 2)) return Fail(kExitIo, base_out.Commit().message());
      }
      if (a.kld) {
        base_in.read(reinterpret_cast<char*>(half.data()), V * 2);
        if (!base_in) return Fail(kExitIo, fmt::format("'{}' is truncated", a.kld_base));
        double kl = 0;
        uint32_t top_b = 0, top_m = 0;
        for (uint32_t v = 0; v < V; ++v) {
          base_lp[v] = HalfToFloat(half[v]);
          if (base_lp[v] > base_lp[top_b]) top_b = v;
          if (lp[v] > lp[top_m]) top_m = v;
          const double pb = std::exp(base_lp[v]);
          if (pb > 0) kl += pb * (base_lp[v] - lp[v]);
        }
        kl = std::max(0.0, kl);
        kld.Add(kl);
        kld_values.push_back(kl);
        same_top.Add(top_b == top_m ? 1.0 : 0.0);
        base_nll.Add(-base_lp[next]);
      }
    }
    std::fprintf(stderr, "[%llu]%.4f%s", static_cast<unsigned long long>(c + 1), std::exp(nll.Mean()),
                 c + 1 == n_chunk ? "\n" : ",");
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double ppl = std::exp(nll.Mean());
  std::printf("Final estimate: PPL = %.4f +/- %.5f\n", ppl, ppl * nll.StdErr());
  std::printf("tokens scored: %llu, %.1f tokens/s evaluated\n", static_cast<unsigned long long>(nll.n),
              tokens.size() / secs);
  if (a.kld) {
    const double base_ppl = std::exp(base_nll.Mean());
    std::sort(kld_values.begin(), kld_values.end());
    auto q = [&](double f) { return kld_values[std::min(kld_values.size() - 1, static_cast<size_t>(f * kld_values.size()))]; };
    std::printf("Mean PPL(Q)   : %.6f +/- %.6f\n", ppl, ppl * nll.StdErr());
    std::printf("Mean PPL(base): %.6f +/- %.6f\n", base_ppl, base_ppl * base_nll.StdErr());
    std::printf("Mean ln(PPL(Q)/PPL(base)): %.6f\n", nll.Mean() - base_nll.Mean());
    std::printf("Mean KLD: %.6f +/- %.6f\n", kld.Mean(), kld.StdErr());
    std::printf("Maximum KLD: %.6f, 99.9%%: %.6f, 99%%: %.6f, median: %.6f\n", kld_values.back(), q(0.999), q(0.99), q(0.5));
    std::printf("Same top token: %.3f +/- %.3f %%\n", 100.0 * same_top.Mean(), 100.0 * same_top.StdErr());
  }
  std::fprintf(stderr, "%s", FormatMemoryReport(MakeMemoryReport(dec, dec.stats().tokens)).c_str());
  if (write_base) {
    if (Status s = base_out.Commit(); !s.ok()) return Fail(kExitIo, s.message());
  }
  return kExitOk;
}

}  // namespace
}  // namespace st

int main(int argc, char** argv) {
  st::Args a;
  CLI::App app{"smallthinker-perplexity: perplexity of a text, and KL divergence between models"};
  app.footer(st::kExitCodesHelp);
  st::AddRunOptions(app, a.run);
  a.run.n_ctx = 512;
  app.get_option("--ctx-size")->default_val(512);
  app.add_option("-f,--file", a.file, "text file to evaluate");
  app.add_option("--chunks", a.chunks, "evaluate at most this many chunks (-1 = all)")->capture_default_str();
  app.add_option("--kl-divergence-base", a.kld_base,
                 "with -f: save the log-probabilities here; with --kl-divergence: read them from here");
  app.add_flag("--kl-divergence", a.kld, "compare this model against the saved base (text and chunks come from the file)");
  st::IgnoreSigpipe();
  if (auto code = st::ParseCommandLine(app, argc, argv)) return *code;
  return st::FinishStdout(st::Run(a));
}
