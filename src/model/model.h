// Model: an opened SmallThinker GGUF file with its config and bound weights. Immutable after Load;
// thread-compatible (many decoders may share one Model).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "format/gguf_file.h"
#include "model/model_config.h"
#include "model/model_weights.h"
#include "smallthinker/status.h"

namespace st {

struct ModelLoadOptions {
  GatingOverride gating = GatingOverride::kAuto;
};

class Model {
 public:
  // Opens, parses and checks `path`. Every error names the file and what was wrong in it.
  static Result<std::unique_ptr<Model>> Load(const std::string& path, const ModelLoadOptions& options = {});

  const GgufFile& file() const { return file_; }
  const ModelConfig& config() const { return config_; }
  const ModelWeights& weights() const { return weights_; }
  // Non-fatal findings during load (unused tensors, ...), for the log.
  const std::vector<std::string>& warnings() const { return warnings_; }

  // Bytes of expert weights (all ffn_*_exps) and of everything else.
  uint64_t ExpertBytes() const;
  uint64_t NonExpertBytes() const;

 private:
  Model(GgufFile file) : file_(std::move(file)) {}
  GgufFile file_;
  ModelConfig config_;
  ModelWeights weights_;
  std::vector<std::string> warnings_;
};

}  // namespace st
