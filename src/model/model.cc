#include "model/model.h"

namespace st {

Result<std::unique_ptr<Model>> Model::Load(const std::string& path, const ModelLoadOptions& options) {
  ST_ASSIGN_OR_RETURN(GgufFile file, GgufFile::Open(path));
  std::unique_ptr<Model> m(new Model(std::move(file)));
  auto config = ReadModelConfig(m->file_, options.gating);
  if (!config.ok()) return config.status().WithContext("'" + path + "'");
  m->config_ = std::move(*config);
  auto weights = BindModelWeights(m->file_, m->config_, &m->warnings_);
  if (!weights.ok()) return weights.status().WithContext("'" + path + "'");
  m->weights_ = std::move(*weights);
  return m;
}

uint64_t Model::ExpertBytes() const {
  uint64_t n = 0;
  for (const LayerWeights& L : weights_.layers) {
    n += L.gate_exps.expert_bytes() * L.gate_exps.count;
    n += L.up_exps.expert_bytes() * L.up_exps.count;
    n += L.down_exps.expert_bytes() * L.down_exps.count;
  }
  return n;
}

uint64_t Model::NonExpertBytes() const {
  uint64_t total = 0;
  for (const auto& t : file_.tensors()) total += t.nbytes;
  return total - ExpertBytes();
}

}  // namespace st
