#include "cli/cli_args.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "cli/exit_codes.h"
#include "common/llama_flags.h"
#include "text/unicode.h"

namespace st {

const char* CliModeName(CliMode mode) {
  switch (mode) {
    case CliMode::kTokenIds: return "token-ids";
    case CliMode::kOneShot: return "one-shot";
    case CliMode::kChat: return "chat";
    case CliMode::kBatch: return "batch";
  }
  return "?";
}

namespace {

constexpr const char* kFooter =
    "Modes:\n"
    "  one-shot  -p TEXT or -f FILE: completes the prompt text as it is (special-token text such as\n"
    "            <|im_start|> becomes its token; the prompt is echoed unless --no-display-prompt).\n"
    "            With -sys the prompt is sent as a user turn through the chat template instead.\n"
    "  chat      the default with no prompt when the model has a chat template (or --chat-template is\n"
    "            given) and stdin is a terminal; -cnv forces it (also over a pipe), -no-cnv turns it\n"
    "            off, -st answers one turn and exits. With -cnv, -p/-f is the first user message.\n"
    "            Ctrl-C stops an answer; Ctrl-C at the prompt exits (130); Ctrl-D exits (0).\n"
    "            A line ending in \\ continues on the next line. Commands: /help, /clear, /system TEXT,\n"
    "            /save FILE, /load FILE (the conversation as JSON messages), /exit; //text sends /text.\n"
    "            When the context fills, the oldest exchanges after the system prompt are dropped\n"
    "            (a notice on stderr) and the chat goes on; a message too long for -c alone is refused.\n"
    "  batch     --batch-file FILE: one prompt per line, or JSONL lines {\"id\", \"prompt\"} or\n"
    "            {\"id\", \"messages\": [{\"role\", \"content\"}, ...]} with optional \"n_predict\" or\n"
    "            \"max_tokens\"; blank lines are skipped. One JSON result per line, in input order;\n"
    "            a bad line gives {\"id\", \"line\", \"error\"} in its place. Exit code 1 if any line failed.\n"
    "  token ids --token-ids 1,2,3 [-n N] [--dump-logits F.npy]: greedy ids out (default -n 16).\n"
    "\n"
    "Sampling defaults are SmallThinker's recommended settings (temp 0.6, top-k 20, top-p 0.95,\n"
    "min-p 0, samplers penalties;temperature;top_k;top_p;min_p, the penalties neutral), not llama.cpp's.\n"
    "For llama.cpp's: --temp 0.8 --top-k 40 --top-p 0.95 --min-p 0.05\n"
    "  --samplers \"penalties;top_k;top_p;min_p;temperature\". Greedy: --temp 0.\n"
    "Prompts must be valid UTF-8 (invalid bytes are refused with the offset of the first one).\n"
    "Timings and the memory report go to stderr at the end; --json FILE also writes them as JSON\n"
    "(--json - writes that JSON as the last line of stderr).\n";

void AddPromptOptions(CLI::App& app, CliArgs& a) {
  const char* g = "Prompt and generation";
  app.add_option("-p,--prompt", a.prompt, "prompt text (escapes such as \\n are processed unless --no-escape)")
      ->group(g);
  app.add_option("-f,--file", a.prompt_file, "read the prompt from FILE (bytes as they are; a leading UTF-8 BOM is dropped)")
      ->type_name("FILE")->group(g);
  app.add_option("--system-prompt", a.system_prompt,
                 "(also -sys) system message, sent through the chat template; the prompt becomes a user turn")
      ->group(g);
  app.add_option("--system-prompt-file", a.system_prompt_file, "(also -sysf) read the system message from FILE")
      ->type_name("FILE")->group(g);
  app.add_flag("--no-escape", a.no_escape, "do not process escapes in -p and -sys")->group(g);
  app.add_option("-n,--predict,--n-predict", a.n_predict,
                 "tokens to generate; -1 = until end of generation or a full context (default: -1)")
      ->type_name("N")->group(g);
  app.add_flag("--ignore-eos", a.ignore_eos,
               "never stop at end-of-generation tokens (they are never sampled, as in llama.cpp)")
      ->group(g);
  app.add_flag("--special", a.special, "(also -sp) print control tokens such as <|im_end|>")->group(g);
  app.add_flag("--no-display-prompt", a.no_display_prompt, "one-shot: do not echo the prompt before the output")
      ->group(g);
  app.add_flag("--verbose-prompt", a.verbose_prompt, "print the prompt's token ids to stderr before generating")
      ->group(g);
  app.add_option("-l,--logit-bias", a.logit_bias,
                 "TOKEN_ID(+|-)BIAS added to that token's logit, e.g. 15043+1 or 15043-inf (repeatable; "
                 "rows the predicted LM head skips stay -inf, see --lm-head exact)")
      ->group(g);
}

void AddModeOptions(CLI::App& app, CliArgs& a) {
  const char* g = "Chat and batch";
  app.add_flag("--conversation", a.conversation, "(also -cnv) chat mode, even without a terminal")->group(g);
  app.add_flag("--no-conversation", a.no_conversation, "(also -no-cnv) never start chat mode")->group(g);
  app.add_flag("--single-turn", a.single_turn, "(also -st) chat: answer one turn, then exit")->group(g);
  app.add_option("--chat-template", a.chat_template,
                 "chat template: chatml, qwen2, qwen2.5, qwen3, or Jinja text (default: the model's)")
      ->group(g);
  app.add_option("--chat-template-file", a.chat_template_file,
                 "chat template from a Jinja file, rendered as transformers renders the model's own (default: "
                 "the model's tokenizer.chat_template)")
      ->type_name("FILE")->group(g);
  app.add_option("--chat-template-kwargs", a.chat_template_kwargs,
                 "extra template variables as a JSON object, as llama.cpp: {\"enable_thinking\": false} starts "
                 "Qwen3-style answers without reasoning; any other key is a variable the template may read")
      ->type_name("JSON")->group(g);
  app.add_option("--render-chat", a.render_chat,
                 "print the prompt the chat template makes of FILE's JSON messages ([{\"role\", \"content\"}]) "
                 "with the generation prompt, exactly, and exit")
      ->type_name("FILE")->group(g);
  app.add_option("--batch-file", a.batch_file, "run every prompt of FILE (one per line, or JSONL); see below")
      ->type_name("FILE")->group(g);
  app.add_option("--batch-output", a.batch_output,
                 "write the batch results (JSONL) to FILE instead of stdout (through a temporary beside it, "
                 "renamed at the end: a failed run keeps the old FILE)")
      ->type_name("FILE")->group(g);
  app.add_option("--parallel", a.run.n_seq,
                 "(also -np) batch: requests decoded together, one forward pass for all (continuous batching; "
                 "-c is per request)")
      ->capture_default_str()->check(CLI::Range(1, 256))->group(g);
  app.add_option("--json", a.json_path,
                 "write a JSON summary (timings, tokens, memory, settings) to FILE at the end of a run that "
                 "succeeded (a failed run keeps the old FILE); - = stderr")
      ->type_name("FILE")->group(g);
}

void AddSamplingOptions(CLI::App& app, CliArgs& a) {
  const char* g = "Sampling (defaults: SmallThinker's recommended settings, see below)";
  SamplerParams& s = a.sampling;
  app.add_option("--temp", s.temperature, "temperature; <= 0 = greedy")->capture_default_str()->group(g);
  app.add_option("--top-k", s.top_k, "keep the k most likely tokens; 0 = off")->capture_default_str()->group(g);
  app.add_option("--top-p", s.top_p, "nucleus sampling; 1.0 = off")->capture_default_str()->group(g);
  app.add_option("--min-p", s.min_p, "keep tokens >= p * the best one's probability; 0 = off")
      ->capture_default_str()->group(g);
  app.add_option("--repeat-penalty", s.repeat_penalty, "penalise repeated tokens; 1.0 = off")
      ->capture_default_str()->group(g);
  app.add_option("--repeat-last-n", s.repeat_last_n, "tokens the penalties look back over; 0 = off, -1 = all")
      ->capture_default_str()->group(g);
  app.add_option("--presence-penalty", s.presence_penalty, "subtracted once from a token seen; 0 = off")
      ->capture_default_str()->group(g);
  app.add_option("--frequency-penalty", s.frequency_penalty, "subtracted per occurrence of a token seen; 0 = off")
      ->capture_default_str()->group(g);
  app.add_option("-s,--seed", a.seed, "random seed; -1 = random (the seed used is printed)")
      ->capture_default_str()->group(g);
  app.add_option("--samplers", s.order,
                 "sampler order, names separated by ';' (penalties, top_k, top_p, min_p, temperature)")
      ->capture_default_str()->group(g);
}

}  // namespace

void AddCliOptions(CLI::App& app, CliArgs& a) {
  a.sampling.temperature = kDefaultTemp;
  a.sampling.top_k = kDefaultTopK;
  a.sampling.top_p = kDefaultTopP;
  a.sampling.min_p = kDefaultMinP;
  a.sampling.order = kDefaultSamplers;
  app.footer(std::string(kFooter) + "\n" + kExitCodesHelp);
  AddRunOptions(app, a.run);
  AddPromptOptions(app, a);
  AddModeOptions(app, a);
  AddSamplingOptions(app, a);
  const char* g = "First form (token ids)";
  app.add_option("--token-ids", a.token_ids, "prompt as comma-separated token ids, e.g. 1,2,3 (greedy ids out)")
      ->group(g);
  app.add_option("--dump-logits", a.dump_logits,
                 "with --token-ids: write the logits after every evaluated position to FILE.npy "
                 "(float32, [positions, vocab])")
      ->type_name("FILE")->group(g);
}

std::optional<int> ParseCliArgs(int argc, char** argv, CliArgs& a) {
  CLI::App app{"smallthinker-cli: run a SmallThinker GGUF model on the CPU (one-shot, chat, batch)", "smallthinker-cli"};
  AddCliOptions(app, a);
  if (auto code = ParseCommandLine(app, argc, argv)) return code;
  a.has_prompt = app.count("--prompt") > 0;
  a.has_system = app.count("--system-prompt") > 0;
  a.n_predict_given = app.count("--predict") > 0;
  if (!a.no_escape) {
    a.prompt = ProcessEscapes(a.prompt);
    a.system_prompt = ProcessEscapes(a.system_prompt);
  }
  return std::nullopt;
}

Status CheckCliArgs(const CliArgs& a) {
  const bool has_file = !a.prompt_file.empty();
  auto conflict = [](const char* x, const char* y, const char* hint) {
    return InvalidArgument(fmt::format("{} and {} conflict: {}", x, y, hint));
  };
  if (!a.token_ids.empty()) {
    if (a.has_prompt || has_file) return conflict("--token-ids", "-p/-f", "--token-ids is the prompt");
    if (a.has_system || !a.system_prompt_file.empty()) {
      return conflict("--token-ids", "-sys/-sysf", "--token-ids takes no chat template");
    }
    if (a.conversation || a.single_turn) return conflict("--token-ids", "-cnv/-st", "--token-ids is not a chat");
    if (!a.batch_file.empty()) return conflict("--token-ids", "--batch-file", "give one of them");
  } else if (!a.dump_logits.empty()) {
    return InvalidArgument("--dump-logits needs --token-ids");
  }
  if (a.has_prompt && has_file) return conflict("-p/--prompt", "-f/--file", "give one of them");
  if (!a.chat_template.empty() && !a.chat_template_file.empty()) {
    return conflict("--chat-template", "--chat-template-file", "give one of them");
  }
  if (a.has_system && !a.system_prompt_file.empty()) return conflict("-sys", "-sysf", "give one of them");
  if (!a.batch_file.empty()) {
    if (a.has_prompt || has_file) return conflict("--batch-file", "-p/-f", "the prompts come from the batch file");
    if (a.conversation || a.single_turn) return conflict("--batch-file", "-cnv/-st", "a batch is not a chat");
  } else if (!a.batch_output.empty()) {
    return InvalidArgument("--batch-output needs --batch-file");
  } else if (a.run.n_seq > 1) {
    return InvalidArgument("--parallel needs --batch-file (chat and one-shot runs have one sequence)");
  }
  if (a.conversation && a.no_conversation) return conflict("-cnv", "-no-cnv", "give one of them");
  if (a.single_turn && a.no_conversation) return conflict("-st", "-no-cnv", "-st is a chat of one turn");
  if (a.has_prompt && a.prompt.empty()) return InvalidArgument("empty prompt (-p \"\")");
  if (a.has_system && a.system_prompt.empty()) return InvalidArgument("empty system prompt (-sys \"\")");
  if (a.n_predict < -1) {
    return InvalidArgument(fmt::format("-n {}: expected -1 (until the end) or a count >= 0", a.n_predict));
  }
  if (a.seed < -1 || a.seed > static_cast<int64_t>(UINT32_MAX)) {
    return InvalidArgument(fmt::format("--seed {}: expected -1 (random) or 0..{}", a.seed, UINT32_MAX));
  }
  for (const std::string& b : a.logit_bias) {
    if (auto r = ParseLogitBias(b); !r.ok()) return r.status();
  }
  if (auto r = Sampler::ParseOrder(a.sampling.order); !r.ok()) return r.status();
  if (a.has_prompt && FirstInvalidUtf8(a.prompt) != a.prompt.size()) {
    return InvalidArgument(fmt::format("the prompt is not valid UTF-8 (byte {} of {})", FirstInvalidUtf8(a.prompt),
                                       a.prompt.size()));
  }
  if (a.has_system && FirstInvalidUtf8(a.system_prompt) != a.system_prompt.size()) {
    return InvalidArgument(fmt::format("the system prompt is not valid UTF-8 (byte {} of {})",
                                       FirstInvalidUtf8(a.system_prompt), a.system_prompt.size()));
  }
  return Status::Ok();
}

Result<CliMode> ResolveCliMode(const CliArgs& a, bool stdin_is_tty, bool model_has_template) {
  if (!a.token_ids.empty()) return CliMode::kTokenIds;
  if (!a.batch_file.empty()) return CliMode::kBatch;
  if (a.conversation || a.single_turn) return CliMode::kChat;
  if (a.has_prompt || !a.prompt_file.empty()) return CliMode::kOneShot;
  if (a.no_conversation) return InvalidArgument("no prompt: give -p, -f or --batch-file (-no-cnv turns chat off)");
  if (!stdin_is_tty) {
    return InvalidArgument("no prompt: give -p, -f or --batch-file, or -cnv to chat over stdin (stdin is not a terminal)");
  }
  if (!model_has_template && a.chat_template.empty() && a.chat_template_file.empty()) {
    return InvalidArgument("no prompt, and the model has no chat template: give -p or -f, or -cnv to chat "
                           "with the built-in chatml template");
  }
  return CliMode::kChat;
}

SamplerParams SamplerParamsFromArgs(const CliArgs& a) {
  SamplerParams p = a.sampling;
  p.seed = a.seed < 0 ? kRandomSeed : static_cast<uint32_t>(a.seed);
  return p;
}

std::string ProcessEscapes(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out += s[i];
      continue;
    }
    const char c = s[++i];
    switch (c) {
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'a': out += '\a'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'v': out += '\v'; break;
      case '\'': out += '\''; break;
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case 'x':
        if (i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
          out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
          i += 2;
        } else {
          out += "\\x";
        }
        break;
      default:
        if (c >= '0' && c <= '7') {
          int v = 0, n = 0;
          while (n < 3 && i < s.size() && s[i] >= '0' && s[i] <= '7') {
            v = v * 8 + (s[i] - '0');
            ++i;
            ++n;
          }
          --i;
          out += static_cast<char>(v & 0xFF);
        } else {
          out += '\\';
          out += c;
        }
    }
  }
  return out;
}

Result<LogitBias> ParseLogitBias(const std::string& s) {
  const size_t sign = s.find_first_of("+-", 1);
  auto bad = [&] {
    return InvalidArgument(fmt::format("--logit-bias '{}': expected TOKEN_ID+BIAS or TOKEN_ID-BIAS, e.g. 15043+1", s));
  };
  if (sign == std::string::npos || sign == 0) return bad();
  LogitBias b;
  try {
    size_t used = 0;
    const long long id = std::stoll(s.substr(0, sign), &used);
    if (used != sign || id < 0 || id > INT32_MAX) return bad();
    b.token = static_cast<int32_t>(id);
    const std::string v = s.substr(sign + 1);
    if (v == "inf") {
      b.bias = std::numeric_limits<float>::infinity();
    } else {
      b.bias = std::stof(v, &used);
      if (used != v.size() || !std::isfinite(b.bias)) return bad();
    }
  } catch (const std::exception&) {
    return bad();
  }
  if (s[sign] == '-') b.bias = -b.bias;
  return b;
}

size_t FirstInvalidUtf8(const std::string& text) {
  size_t i = 0;
  while (i < text.size()) {
    const size_t n = ValidUtf8Length(std::string_view(text).substr(i));
    if (n == 0) return i;
    i += n;
  }
  return text.size();
}

}  // namespace st
