// ChatTemplate: renders a conversation into the prompt text a chat model was trained on.
//
// The template is Jinja2 (the GGUF's tokenizer.chat_template, a --chat-template-file, or one of
// the built-ins written here), executed by the engine in jinja_template.h exactly as Hugging Face
// transformers renders it: `messages` (each message's fields in the order the caller gave them),
// `add_generation_prompt`, `bos_token`/`eos_token` when the vocabulary has them, `tools` and
// `documents` (none unless given), and any extra variables (`enable_thinking`, ...).
//
// Errors: a template that does not parse is InvalidArgument "line L, column C: ..."; rendering
// errors name the line and column too; a template's raise_exception() ("roles must alternate")
// is FailedPrecondition with the template's message.
//
// Immutable after construction: thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "smallthinker/status.h"
#include "text/jinja_template.h"
#include "text/tokenizer.h"

namespace st {

struct ChatMessage {
  ChatMessage() = default;
  ChatMessage(std::string r, std::string c, std::optional<std::string> reasoning = std::nullopt, std::string extra = {})
      : role(std::move(r)), content(std::move(c)), reasoning_content(std::move(reasoning)), extra_json(std::move(extra)) {}

  std::string role;     // "system", "user", "assistant", "tool"
  std::string content;
  // Qwen3: the reasoning of an assistant message, when kept apart from its content.
  std::optional<std::string> reasoning_content;
  // Further fields of the message as a JSON object ("tool_calls", "tool_call_id", "name", or
  // "content": null / a list of parts, which replaces `content`), in the caller's order.
  std::string extra_json;

  // A message object of the OpenAI / transformers form ({"role", "content", "tool_calls", ...}).
  // "role" must be a non-empty string; "content" a string, null, a list of parts or absent (then
  // `content` is "" and the value, if any, stays in extra_json); other fields go to extra_json in
  // their order. Errors: InvalidArgument naming the field.
  static Result<ChatMessage> FromJson(const nlohmann::ordered_json& j);
  // The inverse: the fields in the order FromJson read them (role, content, reasoning, extra).
  nlohmann::ordered_json ToJson() const;
};

struct ChatRenderOptions {
  bool add_generation_prompt = true;
  // Qwen3 templates: false adds "<think>\n\n</think>\n\n" to the generation prompt (no reasoning).
  // Unset = the template's default (think freely). Ignored by templates without the switch.
  std::optional<bool> enable_thinking;
  // The `tools` variable: a JSON array of tool definitions (empty: none).
  std::string tools_json;
  // More variables, a JSON object ({"enable_thinking": false, "date_string": "..."}).
  std::string extra_variables_json;
};

// What to evaluate when a conversation grows (see ChatTemplate::RenderDelta).
struct ChatDelta {
  size_t keep_bytes = 0;  // this many bytes of the previous rendering stay valid
  std::string text;       // the text that follows them
};

class ChatTemplate {
 public:
  // The built-in templates, by name: "chatml" (plain ChatML, no default system prompt), "qwen2"
  // (default system "You are a helpful assistant."), "qwen2.5" (default system "You are Qwen,
  // created by Alibaba Cloud. You are a helpful assistant."; tool results as <tool_response>),
  // "qwen3" (as qwen2.5 without the default, plus Qwen3's <think> handling and enable_thinking).
  // For files without a template; a file's own template always renders as written.
  static std::vector<std::string> BuiltinNames();

  // --chat-template semantics (as llama.cpp): a built-in name, or else template text.
  static Result<ChatTemplate> FromNameOrText(std::string_view name_or_text);
  // A template's Jinja text (tokenizer.chat_template or a --chat-template-file). Syntax errors:
  // InvalidArgument naming the line and column.
  static Result<ChatTemplate> FromText(std::string_view text);
  // The template a chat should use: `override_name_or_text` if not empty, else the model's
  // template, else built-in chatml.
  static Result<ChatTemplate> Select(std::string_view override_name_or_text, std::string_view model_template);

  // The texts of the vocabulary's BOS and EOS tokens, the bos_token/eos_token variables (unset:
  // the variable is undefined, as transformers leaves it for a tokenizer without one).
  void SetSpecialTokens(std::optional<std::string> bos, std::optional<std::string> eos);
  // The same from a vocabulary: its BOS and EOS tokens' texts, as llama.cpp passes them.
  void SetSpecialTokensFrom(const Tokenizer& tokenizer);

  // The prompt text for `messages`. Errors: a message with an empty role or a bad extra_json
  // (InvalidArgument), and those of the template (see the top of this file).
  Result<std::string> Render(std::span<const ChatMessage> messages, const ChatRenderOptions& options = {}) const;

  // Incremental rendering for multi-turn chat with a KV cache. The cache holds
  // Render(messages[0, old_count), no generation prompt) — the earlier turns, the last assistant
  // reply included; the result says how much of that stays and what to evaluate next to obtain
  // Render(messages, options). Usually the old text is a prefix (keep_bytes = its size, text = the
  // new turns and the generation prompt). Templates like Qwen3's drop the reasoning of earlier
  // assistant turns once a new user turn follows them, so the renderings then part earlier:
  // keep_bytes falls back to the end of the last ChatML turn ("<|im_end|>\n") both share, a token
  // boundary (or, for other templates, to where they part), and the engine re-evaluates from there.
  Result<ChatDelta> RenderDelta(std::span<const ChatMessage> messages, size_t old_count,
                                const ChatRenderOptions& options = {}) const;

  // "chatml", "qwen2", "qwen2.5", "qwen3" for the built-ins, "jinja" for a template's own text.
  const std::string& name() const { return name_; }

 private:
  ChatTemplate() = default;

  std::string name_;
  std::shared_ptr<const jinja::Template> template_;
  std::optional<std::string> bos_token_;
  std::optional<std::string> eos_token_;
};

}  // namespace st
