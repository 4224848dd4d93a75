// Chat mode: a conversation through the chat template, with the KV cache kept between turns.
//
// The user types after "> " (on stderr, so stdout holds only the model's words); a line ending in
// "\" continues on the next. Ctrl-C stops an answer and returns to the prompt; Ctrl-C at the
// prompt exits with 130; Ctrl-D (EOF) at the prompt exits with 0. Lines starting with "/" are
// commands (chat_commands.h).
//
// Long conversations: when a turn and room for its answer do not fit the context, the oldest
// exchanges after the system prompt are dropped (one notice on stderr) and what is kept is
// evaluated again, so the model sees exactly the conversation that remains. An answer cut by a
// full context is kept as it is; the next turn makes room. A single message too long for the
// context even alone is refused with an error and the chat goes on.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "cli/chat_commands.h"
#include "cli/chat_session.h"
#include "cli/cli_modes.h"
#include "cli/exit_codes.h"
#include "cli/interrupt.h"
#include "text/unicode.h"

namespace st {
namespace {

// One user message: a line, continued while it ends in a backslash.
LineReader::Result ReadUserMessage(LineReader& reader, std::string* message) {
  message->clear();
  std::string line;
  while (true) {
    const LineReader::Result r = reader.ReadLine(&line);
    if (r == LineReader::Result::kInterrupted) return r;
    if (r == LineReader::Result::kEof) return message->empty() ? r : LineReader::Result::kLine;
    if (!line.empty() && line.back() == '\\') {
      line.pop_back();
      *message += line + "\n";
      continue;
    }
    *message += line;
    return LineReader::Result::kLine;
  }
}

bool IsBlank(const std::string& s) { return s.find_first_not_of(" \t\r\n") == std::string::npos; }

// Tokens a turn keeps free for its answer when older exchanges can be dropped to make room: -n
// when given, at most a quarter of the context.
size_t AnswerRoom(int32_t n_predict, uint32_t n_ctx) {
  const size_t quarter = n_ctx / 4;
  return n_predict > 0 ? std::min<size_t>(static_cast<size_t>(n_predict), quarter) : quarter;
}

}  // namespace

int RunChat(CliContext& ctx) {
  const CliArgs& a = ctx.args;
  const Tokenizer& tok = ctx.tokenizer;
  Generator& gen = ctx.generator;
  auto tmpl = SelectTemplate(ctx);
  if (!tmpl.ok()) return Fail(ExitCodeForTemplateError(a, tmpl.status()), tmpl.status());
  ChatSession session(*tmpl, tok, *ChatOptionsFromArgs(a));  // checked at start
  if (a.has_system) session.AddSystem(a.system_prompt);
  auto sampler = Sampler::Create(ctx.sampling);
  if (!sampler.ok()) return Fail(kExitUsage, sampler.status());
  gen.set_sampler(&*sampler);

  const bool interactive = isatty(STDIN_FILENO);
  if (interactive) {
    std::fprintf(stderr,
                 "== chat (template %s): type a message and press Enter; end a line with \\ to go on.\n"
                 "== Ctrl-C stops an answer; Ctrl-C at the prompt, Ctrl-D or /exit leaves; /help lists commands.\n",
                 tmpl->name().c_str());
  }
  GenerateOptions o;
  o.n_predict = a.n_predict;
  o.ignore_eos = a.ignore_eos;
  o.render_special = a.special;
  o.output_failed = OutputFailed;  // a closed stdout ends the chat (exit 4 from the caller)

  LineReader reader(STDIN_FILENO);
  bool first_line = true;  // a file piped to stdin may start with a byte-order mark
  bool first_from_args = a.has_prompt || !a.prompt_file.empty();
  int turns = 0;
  int exit_code = kExitOk;
  const char* last_stop = "";
  while (true) {
    std::string user;
    const bool from_args = first_from_args;
    if (first_from_args) {
      user = ctx.prompt_text;
      first_from_args = false;
    } else {
      ClearInterrupt();
      std::fputs("> ", stderr);
      std::fflush(stderr);
      const LineReader::Result r = ReadUserMessage(reader, &user);
      if (r == LineReader::Result::kEof) {
        std::fputs("\n", stderr);
        break;
      }
      if (r == LineReader::Result::kInterrupted) {
        std::fputs("\n", stderr);
        exit_code = kExitInterrupted;
        break;
      }
      if (first_line) StripUtf8Bom(user);
      first_line = false;
      if (IsBlank(user)) continue;
      const ChatCommandResult command = RunChatCommand(&user, session);
      if (command == ChatCommandResult::kExit) break;
      if (command == ChatCommandResult::kHandled) continue;
      if (const size_t bad = FirstInvalidUtf8(user); bad != user.size()) {
        std::fprintf(stderr, "error: the message is not valid UTF-8 (byte %zu of %zu); not sent\n", bad, user.size());
        continue;
      }
    }
    auto plan = session.AddUserTurn(user, gen.evaluated());
    if (!plan.ok() && plan.status().code() == StatusCode::kFailedPrecondition && interactive) {
      // The template refuses this conversation (raise_exception): the turn is not sent, the chat goes on.
      std::fprintf(stderr, "error: %s; the message was not sent\n", RenderError(a, tok, plan.status()).message().c_str());
      continue;
    }
    if (!plan.ok()) return Fail(ExitCodeForTemplateError(a, plan.status()), RenderError(a, tok, plan.status()));
    // Make room: when the prompt and room for an answer do not fit, drop the oldest exchanges
    // until there is room for two answers, so the next turns reuse the cache before the next drop.
    const size_t room = AnswerRoom(a.n_predict, gen.n_ctx());
    int dropped = 0;
    while (plan->total_tokens() + (dropped > 0 ? 2 * room : room) > gen.n_ctx() && session.DropOldestTurn()) {
      ++dropped;
      plan = session.Replan(gen.evaluated());
      if (!plan.ok()) return Fail(ExitCodeForTemplateError(a, plan.status()), RenderError(a, tok, plan.status()));
    }
    if (dropped > 0) {
      std::fprintf(stderr, "context: dropped the %d oldest exchange%s to fit -c %u (the model no longer sees %s; the "
                   "system prompt stays)\n", dropped, dropped == 1 ? "" : "s", gen.n_ctx(), dropped == 1 ? "it" : "them");
    }
    if (plan->total_tokens() > gen.n_ctx()) {
      if (from_args && turns == 0) return Fail(kExitUsage, PromptTooLong(plan->total_tokens(), gen.n_ctx()));
      session.DropUnansweredTurn();
      std::fprintf(stderr, "error: this message needs %zu tokens with the system prompt, more than the context of %u "
                   "(-c); not sent\n", plan->total_tokens(), gen.n_ctx());
      last_stop = "context";
      if (a.single_turn) break;
      continue;
    }
    ++turns;
    if (a.run.verbose) {
      std::fprintf(stderr, "chat: turn %d: reusing %zu cached tokens, evaluating %zu new (conversation %zu tokens, "
                   "context %u)\n", turns, plan->keep_tokens, plan->tokens.size(), plan->total_tokens(), gen.n_ctx());
    }
    ClearInterrupt();
    if (Status s = gen.Evaluate(plan->tokens, static_cast<uint32_t>(plan->keep_tokens)); !s.ok()) {
      if (s.code() != StatusCode::kCancelled) return Fail(ExitCodeForRunError(s), s);
      session.AddAssistantReply("");
      std::fputs("\n[interrupted]\n", stderr);
      last_stop = "interrupted";
      if (a.single_turn) break;
      continue;
    }
    auto g = gen.Generate(o, WriteOut);
    WriteOut("\n");
    if (!g.ok()) return Fail(ExitCodeForRunError(g.status()), g.status());
    session.AddAssistantReply(tok.Decode(g->content_tokens(), /*render_special=*/true));
    last_stop = StopReasonName(g->stop);
    if (a.run.verbose) {
      std::fprintf(stderr, "chat: turn %d: answered %zu tokens (stop: %s)\n", turns, g->tokens.size(), last_stop);
    }
    if (g->stop == StopReason::kInterrupted) std::fputs("[interrupted]\n", stderr);
    if (g->stop == StopReason::kOutput) {
      std::fprintf(stderr, "chat: turn %d: the answer cannot be written; ending the chat\n", turns);
      break;
    }
    if (g->stop == StopReason::kContext) {
      std::fprintf(stderr, "context full: the answer was cut after %zu tokens (-c %u); the next turn drops the oldest "
                   "exchanges to make room\n", g->tokens.size(), gen.n_ctx());
    }
    if (a.single_turn) break;
  }
  ctx.summary["turns"] = turns;
  ctx.summary["stop_reason"] = last_stop;
  ctx.summary["context_used"] = gen.evaluated().size();
  return exit_code;
}

}  // namespace st
