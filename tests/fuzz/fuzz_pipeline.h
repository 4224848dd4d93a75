// RunGgufPipeline: the code path the GGUF fuzzer drives, shared by the libFuzzer target
// (tests/fuzz/gguf_fuzz.cc) and the gtests that replay the seed corpus and the regression inputs
// (tests/fuzz/fuzz_corpus_test.cc, tests/fuzz/fuzz_regression_test.cc), so CI runs it without clang.
//
// Bytes -> GgufFile::FromBytes -> (every metadata value described, every typed getter tried,
// every tensor's first and last byte read) -> ReadModelConfig -> BindModelWeights (every bound
// view checked to lie inside the file, and its first and last byte read) -> Vocab::FromGguf.
// Reads through an out-of-range view are caught by ASan; a view that points inside the buffer but
// outside its tensor's bytes is caught by the explicit range checks, which report kInternal.
//
// Header-only on purpose: tests/CMakeLists.txt compiles each *_test.cc alone, and the fuzz build
// (tests/fuzz/CMakeLists.txt) compiles the library sources directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "format/gguf_file.h"
#include "model/model_config.h"
#include "model/model_weights.h"
#include "smallthinker/status.h"
#include "text/vocab.h"

namespace st::fuzz {

struct PipelineResult {
  Status load;        // the Model::Load equivalent: parse, then config, then weights (first error)
  Status vocab;       // Vocab::FromGguf (Ok when the file did not parse: not run)
  Status invariant;   // kInternal when a bound view lies outside the file: a bug, never file bytes
  bool parsed = false;
  bool config_ok = false;
  bool loaded = false;  // parse, config and weights all succeeded
  uint64_t checksum = 0;  // of the touched bytes, so the reads cannot be optimized away
};

namespace internal {

class Toucher {
 public:
  Toucher(const GgufFile& f, PipelineResult* r) : lo_(f.base()), size_(f.file_size()), r_(r) {}

  // Checks that [p, p + n) lies inside the file and reads its first and last byte.
  void Range(const std::string& what, const uint8_t* p, uint64_t n) {
    if (n == 0 || !r_->invariant.ok()) return;
    const uintptr_t base = reinterpret_cast<uintptr_t>(lo_);
    const uintptr_t at = reinterpret_cast<uintptr_t>(p);
    if (p == nullptr || at < base || at - base > size_ || n > size_ - (at - base)) {
      r_->invariant = Internal("fuzz invariant: " + what + " [" + std::to_string(at - base) + ", +" + std::to_string(n) +
                               ") lies outside the file of " + std::to_string(size_) + " bytes");
      return;
    }
    r_->checksum = r_->checksum * 31 + p[0];
    r_->checksum = r_->checksum * 31 + p[n - 1];
  }

  void Matrix(const std::string& what, const WeightMatrix& m) {
    if (m.rows < 0 || m.cols < 0) {
      r_->invariant = Internal("fuzz invariant: " + what + " has a negative shape");
      return;
    }
    uint64_t bytes = 0;
    if (__builtin_mul_overflow(m.row_bytes, static_cast<uint64_t>(m.rows), &bytes)) {
      r_->invariant = Internal("fuzz invariant: " + what + " byte size overflows");
      return;
    }
    Range(what, m.data, bytes);
    if (m.rows > 0) Range(what + " last row", m.Row(m.rows - 1), m.row_bytes);
    if (m.file_offset != static_cast<uint64_t>(m.data - lo_) && m.data != nullptr && r_->invariant.ok()) {
      r_->invariant = Internal("fuzz invariant: " + what + " file_offset disagrees with its data pointer");
    }
  }

  void Experts(const std::string& what, const ExpertStack& s) {
    if (s.count < 0 || s.rows < 0 || s.cols < 0) {
      r_->invariant = Internal("fuzz invariant: " + what + " has a negative shape");
      return;
    }
    uint64_t per = 0, all = 0;
    if (__builtin_mul_overflow(s.row_bytes, static_cast<uint64_t>(s.rows), &per) ||
        __builtin_mul_overflow(per, static_cast<uint64_t>(s.count), &all)) {
      r_->invariant = Internal("fuzz invariant: " + what + " byte size overflows");
      return;
    }
    Range(what, s.data, all);
    if (s.count > 0) Matrix(what + " last expert", s.Expert(s.count - 1));
  }

  void Floats(const std::vector<float>& v) {
    for (float x : v) r_->checksum = r_->checksum * 31 + static_cast<uint64_t>(x != x);
  }

 private:
  const uint8_t* lo_;
  uint64_t size_;
  PipelineResult* r_;
};

inline void TouchMetadata(const GgufFile& f, PipelineResult* r) {
  for (const auto& [key, value] : f.metadata()) {
    r->checksum += value.Describe().size();
    // Every typed getter on every key: each either succeeds or returns an error value.
    r->checksum += f.GetUint(key).ok() + f.GetInt(key).ok() + f.GetFloat(key).ok() + f.GetBool(key).ok() +
                   f.GetString(key).ok() + f.GetArray(key, GgufType::kString).ok() +
                   f.GetOptionalUint(key).ok() + f.GetOptionalFloat(key).ok();
  }
}

}  // namespace internal

inline PipelineResult RunGgufPipeline(const uint8_t* data, size_t size) {
  PipelineResult r;
  auto file = GgufFile::FromBytes(data, size, "fuzz.gguf");
  if (!file.ok()) {
    r.load = file.status();
    return r;
  }
  r.parsed = true;
  const GgufFile& f = *file;
  internal::Toucher touch(f, &r);
  internal::TouchMetadata(f, &r);
  for (const GgufTensorInfo& t : f.tensors()) {
    touch.Range("tensor '" + t.name + "'", t.data, t.nbytes);
    r.checksum += t.ShapeString().size();
  }

  auto vocab = Vocab::FromGguf(f);
  r.vocab = vocab.status();
  if (vocab.ok()) {
    if (vocab->types.size() != vocab->tokens.size()) {
      r.invariant = Internal("fuzz invariant: vocab types and tokens differ in length");
    }
    for (int32_t id : {vocab->bos_id, vocab->eos_id, vocab->pad_id}) {
      if (id >= 0 && static_cast<size_t>(id) >= vocab->tokens.size()) {
        r.invariant = Internal("fuzz invariant: special token id outside the vocabulary");
      }
    }
  }

  auto config = ReadModelConfig(f);
  if (!config.ok()) {
    r.load = config.status();
    return r;
  }
  r.config_ok = true;
  r.checksum += config->Describe().size();
  std::vector<std::string> warnings;
  auto weights = BindModelWeights(f, *config, &warnings);
  if (!weights.ok()) {
    r.load = weights.status();
    return r;
  }
  r.loaded = true;
  const ModelWeights& w = *weights;
  touch.Matrix("token_embd", w.token_embd);
  touch.Matrix("output", w.output);
  touch.Floats(w.output_norm);
  if (w.predictor) {
    touch.Matrix("predictor w1", w.predictor->w1);
    touch.Matrix("predictor w2", w.predictor->w2);
  }
  if (w.layers.size() != config->n_layer) r.invariant = Internal("fuzz invariant: layer count differs from the config");
  for (size_t il = 0; il < w.layers.size(); ++il) {
    const LayerWeights& L = w.layers[il];
    const std::string p = "blk." + std::to_string(il) + ".";
    touch.Floats(L.attn_norm);
    touch.Floats(L.ffn_norm);
    touch.Matrix(p + "attn_q", L.attn_q);
    touch.Matrix(p + "attn_k", L.attn_k);
    touch.Matrix(p + "attn_v", L.attn_v);
    touch.Matrix(p + "attn_output", L.attn_output);
    touch.Matrix(p + "router", L.router);
    touch.Experts(p + "gate_exps", L.gate_exps);
    touch.Experts(p + "up_exps", L.up_exps);
    touch.Experts(p + "down_exps", L.down_exps);
  }
  return r;
}

}  // namespace st::fuzz
