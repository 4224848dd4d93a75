// The README's example of the C++ API: two prompts continued together, one forward pass per step
// for both (smallthinker-example -m MODEL "prompt one" "prompt two").
#include <cstdio>
#include <string>
#include <vector>

#include "smallthinker/context.h"
#include "smallthinker/model.h"
#include "smallthinker/sampler.h"

int main(int argc, char** argv) {
  if (argc < 4 || std::string(argv[1]) != "-m") {
    std::fprintf(stderr, "usage: %s -m MODEL PROMPT [PROMPT...]\n", argv[0]);
    return 2;
  }
  auto model = smallthinker::Model::Load(argv[2]);
  if (!model.ok()) {
    std::fprintf(stderr, "error: %s\n", model.status().message().c_str());
    return 3;
  }
  const smallthinker::Tokenizer& tok = (*model)->tokenizer();
  const uint32_t n = static_cast<uint32_t>(argc - 3);

  smallthinker::ContextParams cp;
  cp.n_ctx = 512;
  cp.n_seq = n;  // one sequence per prompt
  auto ctx = smallthinker::Context::Create(**model, cp);
  if (!ctx.ok()) {
    std::fprintf(stderr, "error: %s\n", ctx.status().message().c_str());
    return 2;
  }

  // Every prompt in one batch; the last token of each asks for the next-token logits.
  std::vector<smallthinker::Token> batch;
  std::vector<std::string> text(n);
  for (uint32_t s = 0; s < n; ++s) {
    const std::vector<int32_t> ids = tok.Encode(argv[3 + s], tok.add_bos(), /*parse_special=*/true);
    for (size_t i = 0; i < ids.size(); ++i) {
      const bool last = i + 1 == ids.size();
      batch.push_back({ids[i], static_cast<uint32_t>(i), s, last ? smallthinker::Output::kLogits : smallthinker::Output::kNone});
    }
    text[s] = argv[3 + s];
  }
  smallthinker::SamplerParams sp;
  sp.temperature = 0;  // greedy
  auto sampler = smallthinker::Sampler::Create(sp);
  for (int step = 0; step < 32; ++step) {
    if (smallthinker::Status s = (*ctx)->Decode(batch); !s.ok()) {
      std::fprintf(stderr, "error: %s\n", s.message().c_str());
      return 1;
    }
    // Sample each sequence's next token from its logits; the next batch is those tokens.
    std::vector<smallthinker::Token> next;
    for (size_t i = 0; i < batch.size(); ++i) {
      if (batch[i].output == smallthinker::Output::kNone) continue;
      const int32_t id = sampler->Sample((*ctx)->Logits(i));
      if (tok.IsEndOfGeneration(id)) continue;  // this sequence is done
      text[batch[i].seq] += tok.TokenToPiece(id, /*render_special=*/false);
      next.push_back({id, batch[i].pos + 1, batch[i].seq, smallthinker::Output::kLogits});
    }
    if (next.empty()) break;
    batch = next;
  }
  for (const std::string& t : text) std::printf("%s\n---\n", t.c_str());
  return 0;
}
