// Tokenizer throughput on the shared corpora (SmallThinker's vocabulary, built from
// ../shared/data/tokenizer/qwen3). Reports bytes/s (Google Benchmark's bytes_per_second) and
// tokens/s. Needs ../shared beside the repository (or ST_SHARED_DIR set).
//
//   build/benchmarks/tokenizer_bench --benchmark_filter=Encode
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "text/hf_vocab.h"
#include "smallthinker/sampler.h"
#include "text/streaming_decoder.h"
#include "text/tokenizer.h"

namespace st {
namespace {

std::string SharedDir() {
  if (const char* env = std::getenv("ST_SHARED_DIR")) return env;
  return (std::filesystem::path(__FILE__).parent_path() / ".." / ".." / "shared").string();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const Tokenizer* QwenTokenizer() {
  static const Tokenizer* tok = []() -> const Tokenizer* {
    const std::string dir = SharedDir() + "/data/tokenizer/qwen3/";
    auto v = LoadHfVocab(dir + "tokenizer.json", dir + "tokenizer_config.json");
    if (!v.ok()) return nullptr;
    auto t = Tokenizer::FromVocab(std::move(v).value());
    return t.ok() ? new Tokenizer(std::move(t).value()) : nullptr;
  }();
  return tok;
}

void BM_BuildVocabFromTokenizerJson(benchmark::State& state) {
  const std::string dir = SharedDir() + "/data/tokenizer/qwen3/";
  for (auto _ : state) {
    auto v = LoadHfVocab(dir + "tokenizer.json", dir + "tokenizer_config.json");
    if (!v.ok()) return state.SkipWithError(v.status().ToString().c_str());
    auto t = Tokenizer::FromVocab(std::move(v).value());
    benchmark::DoNotOptimize(t);
  }
}
BENCHMARK(BM_BuildVocabFromTokenizerJson)->Unit(benchmark::kMillisecond);

void BM_Encode(benchmark::State& state, const char* corpus, size_t max_bytes) {
  const Tokenizer* tok = QwenTokenizer();
  if (!tok) return state.SkipWithError("cannot build the Qwen vocabulary (is ../shared there?)");
  std::string text = ReadFile(SharedDir() + "/data/corpus/" + corpus);
  if (text.empty()) return state.SkipWithError("corpus missing");
  if (text.size() > max_bytes) text.resize(max_bytes);
  size_t tokens = 0;
  for (auto _ : state) {
    auto ids = tok->Encode(text, false, false);
    tokens += ids.size();
    benchmark::DoNotOptimize(ids);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsRate);
}
BENCHMARK_CAPTURE(BM_Encode, shakespeare_100KB, "tinyshakespeare-input.txt", 100 * 1024)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Encode, wikitext_full, "wikitext-2-raw-wiki.test.raw", SIZE_MAX)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Encode, tinystories_full, "tinystories-subset-Arnoochka.txt", SIZE_MAX)->Unit(benchmark::kMillisecond);

void BM_StreamingDecode(benchmark::State& state) {
  const Tokenizer* tok = QwenTokenizer();
  if (!tok) return state.SkipWithError("cannot build the Qwen vocabulary");
  const auto ids = tok->Encode(ReadFile(SharedDir() + "/data/corpus/wikitext-2-raw-wiki.test.raw"), false, false);
  for (auto _ : state) {
    StreamingDecoder dec(*tok);
    size_t n = 0;
    for (int32_t id : ids) n += dec.Push(id).size();
    benchmark::DoNotOptimize(n);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * ids.size()));
}
BENCHMARK(BM_StreamingDecode)->Unit(benchmark::kMillisecond);

// One draw over SmallThinker's 151,936 logits with llama.cpp's default chain.
void BM_SampleDefaults(benchmark::State& state) {
  std::vector<float> logits(151936);
  uint32_t x = 1;
  for (float& l : logits) {
    x = x * 1664525u + 1013904223u;
    l = static_cast<float>(x >> 8) / static_cast<float>(1 << 24) * 20.0f - 10.0f;
  }
  SamplerParams p;
  p.seed = 1;
  auto s = Sampler::Create(p);
  for (auto _ : state) benchmark::DoNotOptimize(s->Sample(logits));
}
BENCHMARK(BM_SampleDefaults)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace st

BENCHMARK_MAIN();
