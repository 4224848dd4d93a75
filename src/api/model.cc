// smallthinker::Model: the public face of st::Model (its Tokenizer's methods: tokenizer.cc).
#include "smallthinker/model.h"

#include "model/model.h"
#include "text/tokenizer.h"

namespace smallthinker {

Model::Model() : tokenizer_(nullptr) {}
Model::~Model() = default;

Result<std::unique_ptr<Model>> Model::Load(const std::string& path, const ModelParams& params) {
  st::ModelLoadOptions lo;
  if (params.router_gating == "softmax") {
    lo.gating = st::GatingOverride::kSoftmax;
  } else if (params.router_gating == "sigmoid") {
    lo.gating = st::GatingOverride::kSigmoid;
  } else if (params.router_gating != "auto") {
    return st::InvalidArgument("router gating '" + params.router_gating + "': expected auto, softmax or sigmoid");
  }
  ST_ASSIGN_OR_RETURN(std::unique_ptr<st::Model> m, st::Model::Load(path, lo));
  std::unique_ptr<Model> out(new Model());
  out->impl_ = std::move(m);
  auto tok = st::Tokenizer::FromGguf(out->impl_->file());
  if (tok.ok()) {
    out->tokenizer_impl_ = std::make_unique<st::Tokenizer>(std::move(*tok));
    out->tokenizer_ = Tokenizer(out->tokenizer_impl_.get());
  } else {
    out->tokenizer_error_ = tok.status().WithContext("tokenizer");
  }
  const st::ModelConfig& c = out->impl_->config();
  const st::ModelWeights& w = out->impl_->weights();
  ModelInfo& i = out->info_;
  i.name = c.name;
  i.arch = c.arch;
  i.n_vocab = c.n_vocab;
  i.n_ctx_train = c.n_ctx_train;
  i.n_layer = c.n_layer;
  i.n_embd = c.n_embd;
  i.n_head = c.n_head;
  i.n_head_kv = c.n_head_kv;
  i.n_expert = c.n_expert;
  i.n_expert_used = c.n_expert_used;
  i.sliding_window = c.sliding_window;
  i.has_predictor = w.predictor.has_value();
  i.transposed_down = w.down_layout == st::DownLayout::kTransposed;
  i.file_bytes = out->impl_->file().file_size();
  i.weight_type = st::GgmlTypeName(w.layers.empty() ? w.output.type : w.layers[0].gate_exps.type);
  return out;
}

const std::vector<std::string>& Model::warnings() const { return impl_->warnings(); }
std::string Model::Describe() const { return impl_->config().Describe(); }

}  // namespace smallthinker
