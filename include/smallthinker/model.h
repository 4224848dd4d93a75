// smallthinker::Model and smallthinker::Tokenizer: a SmallThinker GGUF file, loaded and checked,
// and its vocabulary. The public API every program of this project uses (with context.h and
// sampler.h); see README.md "The C++ API" for an example.
//
//   auto model = smallthinker::Model::Load("model.gguf");
//   if (!model.ok()) { fprintf(stderr, "%s\n", model.status().message().c_str()); return 3; }
//   std::vector<int32_t> ids = (*model)->tokenizer().Encode("Hello", false, true);
//
// A Model is immutable once loaded and may be shared by any number of Contexts (threads included).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "smallthinker/status.h"

namespace st {
class Model;      // the engine's own types, behind the public ones
class Tokenizer;
}  // namespace st

namespace smallthinker {

using st::Result;
using st::Status;
using st::StatusCode;

// What a program may want to know about a model without reading the file itself.
struct ModelInfo {
  std::string name;              // general.name ("" when absent)
  std::string arch;              // "smallthinker"
  uint32_t n_vocab = 0;
  uint32_t n_ctx_train = 0;      // the context the model was trained for
  uint32_t n_layer = 0;
  uint32_t n_embd = 0;
  uint32_t n_head = 0, n_head_kv = 0;
  uint32_t n_expert = 0, n_expert_used = 0;
  uint32_t sliding_window = 0;   // 0: every layer attends to the whole context
  bool has_predictor = false;    // the file has the LM-head predictor (lm_head_profiler)
  bool transposed_down = false;  // the authors' layout (sparse down rows)
  uint64_t file_bytes = 0;
  std::string weight_type;       // of the expert weights, e.g. "q4_0"
};

// The file's vocabulary: byte-level BPE with the file's pre-tokenizer and special tokens.
// Thread-safe (const).
class Tokenizer {
 public:
  // Token ids of `text`. add_bos: put BOS first (pass add_bos() for what the vocabulary asks);
  // parse_special: control tokens written in the text ("<|im_end|>") become their ids.
  std::vector<int32_t> Encode(std::string_view text, bool add_bos, bool parse_special) const;
  // The bytes of one token (control tokens only with render_special); may be part of a UTF-8
  // character.
  const std::string& TokenToPiece(int32_t id, bool render_special = true) const;
  std::string Decode(std::span<const int32_t> ids, bool render_special = true) const;
  // eos and the control tokens that end a turn (<|im_end|>, <|endoftext|>, ...).
  bool IsEndOfGeneration(int32_t id) const;
  const std::vector<int32_t>& end_of_generation_ids() const;
  std::optional<int32_t> FindAddedToken(std::string_view text) const;
  int32_t n_vocab() const;
  int32_t bos() const;
  int32_t eos() const;
  bool add_bos() const;
  // Whether to put BOS first when encoding a chat template's output: add_bos(), unless the text
  // already begins with BOS's text (a template that writes {{ bos_token }}): never two BOS.
  bool AddBosFor(std::string_view rendered) const;
  // tokenizer.chat_template of the file ("" when absent).
  const std::string& chat_template() const;

  // The engine's tokenizer, for its own text utilities (chat templates, streaming decode).
  const st::Tokenizer& impl() const { return *impl_; }
  // The public face of an engine tokenizer that has no Model around it (the engine's own fuzzers).
  // `impl` must outlive the result.
  static Tokenizer FromImpl(const st::Tokenizer& impl) { return Tokenizer(&impl); }

 private:
  friend class Model;
  explicit Tokenizer(const st::Tokenizer* impl) : impl_(impl) {}
  const st::Tokenizer* impl_;
};

struct ModelParams {
  // Router gating: "auto" (the file's expert_gating_func; absent = sigmoid), "softmax" or "sigmoid".
  std::string router_gating = "auto";
};

class Model {
 public:
  // Opens, parses and checks the file completely (every key, tensor name, type and shape). Errors:
  // NotFound/IoError for the file, InvalidFile/Unsupported naming what is wrong and where,
  // InvalidArgument for bad params. The tokenizer is read too; a file without a usable vocabulary
  // loads, and tokenizer() is then unavailable (has_tokenizer() false, tokenizer_error() says why).
  static Result<std::unique_ptr<Model>> Load(const std::string& path, const ModelParams& params = {});
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const ModelInfo& info() const { return info_; }
  bool has_tokenizer() const { return tokenizer_impl_ != nullptr; }
  const Status& tokenizer_error() const { return tokenizer_error_; }
  // REQUIRES: has_tokenizer().
  const Tokenizer& tokenizer() const { return tokenizer_; }
  // Non-fatal findings during load (unused tensors, ...), for the log.
  const std::vector<std::string>& warnings() const;
  // The hyperparameters, one per line (-v, smallthinker-dump).
  std::string Describe() const;

  // The engine's model, for the engine's own tools (dump, generator).
  const st::Model& impl() const { return *impl_; }

 private:
  Model();
  std::unique_ptr<st::Model> impl_;
  std::unique_ptr<st::Tokenizer> tokenizer_impl_;
  Status tokenizer_error_;
  Tokenizer tokenizer_;
  ModelInfo info_;
};

}  // namespace smallthinker
