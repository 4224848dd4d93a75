// One-shot mode: complete one prompt and exit.
//   raw:       -p TEXT / -f FILE    the text as it is (special-token text becomes its token), echoed
//   templated: -sys TEXT -p TEXT    a system and a user turn through the chat template
#include <fmt/format.h>

#include <cstdio>
#include <string>
#include <vector>

#include "cli/cli_modes.h"
#include "cli/exit_codes.h"
#include "smallthinker/sampler.h"

namespace st {
namespace {

std::string FormatIds(const std::vector<int32_t>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) s += fmt::format("{}{}", i ? "," : "", ids[i]);
  return s;
}

}  // namespace

int RunOneShot(CliContext& ctx) {
  const CliArgs& a = ctx.args;
  const Tokenizer& tok = ctx.tokenizer;
  Generator& gen = ctx.generator;

  // The prompt text: raw, or rendered through the chat template when there is a system message.
  std::string text = ctx.prompt_text;
  const bool templated = a.has_system;
  if (templated) {
    auto tmpl = SelectTemplate(ctx);
    if (!tmpl.ok()) return Fail(ExitCodeForTemplateError(a, tmpl.status()), tmpl.status());
    std::vector<ChatMessage> messages = {{"system", a.system_prompt, std::nullopt}, {"user", text, std::nullopt}};
    auto rendered = tmpl->Render(messages, *ChatOptionsFromArgs(a));  // checked at start
    if (!rendered.ok()) {
      return Fail(ExitCodeForTemplateError(a, rendered.status()), RenderError(a, tok, rendered.status()));
    }
    text = *rendered;
  }
  const std::vector<int32_t> tokens = tok.Encode(text, templated ? tok.AddBosFor(text) : tok.add_bos(), /*parse_special=*/true);
  if (tokens.empty()) return Fail(kExitUsage, "empty prompt");
  if (tokens.size() > gen.n_ctx()) return Fail(kExitUsage, PromptTooLong(tokens.size(), gen.n_ctx()));
  if (a.verbose_prompt) {
    std::fprintf(stderr, "prompt: %zu tokens: %s\n", tokens.size(), FormatIds(tokens).c_str());
  }

  auto sampler = Sampler::Create(ctx.sampling);
  if (!sampler.ok()) return Fail(kExitUsage, sampler.status());
  gen.set_sampler(&*sampler);

  if (!templated && !a.no_display_prompt) WriteOut(ctx.prompt_text);
  if (Status s = gen.Evaluate(tokens, 0); !s.ok()) {
    if (s.code() == StatusCode::kCancelled) {
      std::fprintf(stderr, "\ninterrupted\n");
      return kExitInterrupted;
    }
    return Fail(ExitCodeForRunError(s), s);
  }
  GenerateOptions o;
  o.n_predict = a.n_predict;
  o.ignore_eos = a.ignore_eos;
  o.render_special = a.special;
  o.output_failed = OutputFailed;  // the caller reports exit 4
  auto g = gen.Generate(o, WriteOut);
  WriteOut("\n");
  if (!g.ok()) return Fail(ExitCodeForRunError(g.status()), g.status());

  ctx.summary["stop_reason"] = StopReasonName(g->stop);
  ctx.summary["token_ids"] = {{"prompt", tokens}, {"generated", g->tokens}};
  ctx.summary["text"] = tok.Decode(g->content_tokens(), a.special);
  if (g->stop == StopReason::kContext) {
    std::fprintf(stderr, "context full: the context holds %u tokens (-c); stopped after %zu generated tokens\n",
                 gen.n_ctx(), g->tokens.size());
  }
  if (g->stop == StopReason::kOutput) {
    std::fprintf(stderr, "stopped after %zu generated tokens: the output cannot be written\n", g->tokens.size());
  }
  if (g->stop == StopReason::kInterrupted) {
    std::fprintf(stderr, "interrupted\n");
    return kExitInterrupted;
  }
  return kExitOk;
}

}  // namespace st
