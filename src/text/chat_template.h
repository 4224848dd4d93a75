// ChatTemplate: renders a conversation into the prompt text a chat model was trained on.
//
// SmallThinker files carry ChatML-style Jinja templates (Qwen2, Qwen2.5 or Qwen3 flavour). There is
// no Jinja engine here: a template's text is recognised and its behaviour reproduced, byte for
// byte, for conversations of system, user, assistant and tool messages. What is recognised:
//   - any template that uses <|im_start|> ... <|im_end|> (ChatML);
//   - a default system prompt: a string literal '<|im_start|>system\n...<|im_end|>\n' in the
//     template (Qwen2/Qwen2.5: used when the first message is not a system message);
//   - roles: templates that branch on message.role (Qwen2.5, Qwen3) drop roles they do not know
//     and render "tool" messages as <tool_response> blocks inside a user turn; the others render
//     every role as a ChatML turn;
//   - Qwen3's reasoning: an assistant message's "<think>...</think>" part (or its
//     reasoning_content) is kept only for assistant turns after the last user query, and the
//     generation prompt gets an empty think block when enable_thinking is false;
//   - the generation prompt: the string literal printed under `if add_generation_prompt`.
// Not supported (rendered as if absent): the tools list, assistant tool_calls, multimodal
// content, and any other Jinja logic a custom template adds. A template without <|im_start|>
// is refused with an error that suggests --chat-template chatml.
//
// Immutable after construction: thread-safe.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "smallthinker/status.h"

namespace st {

struct ChatMessage {
  std::string role;     // "system", "user", "assistant", "tool"
  std::string content;
  // Qwen3: the reasoning of an assistant message, when kept apart from its content.
  std::optional<std::string> reasoning_content;
};

struct ChatRenderOptions {
  bool add_generation_prompt = true;
  // Qwen3 templates: false adds "<think>\n\n</think>\n\n" to the generation prompt (no reasoning).
  // Unset = the template's default (think freely). Ignored by templates without the switch.
  std::optional<bool> enable_thinking;
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
  // created by Alibaba Cloud. You are a helpful assistant."), "qwen3" (reasoning handling).
  static std::vector<std::string> BuiltinNames();

  // --chat-template semantics (as llama.cpp): a built-in name, or else template text.
  static Result<ChatTemplate> FromNameOrText(std::string_view name_or_text);
  // A template's Jinja text (tokenizer.chat_template). Not ChatML-style: InvalidArgument.
  static Result<ChatTemplate> FromText(std::string_view text);
  // The template a chat should use: `override_name_or_text` if not empty, else the model's
  // template, else built-in chatml.
  static Result<ChatTemplate> Select(std::string_view override_name_or_text, std::string_view model_template);

  // The prompt text for `messages`. Errors: a message with an empty role (InvalidArgument).
  Result<std::string> Render(std::span<const ChatMessage> messages, const ChatRenderOptions& options = {}) const;

  // Incremental rendering for multi-turn chat with a KV cache. The cache holds
  // Render(messages[0, old_count), no generation prompt) — the earlier turns, the last assistant
  // reply included; the result says how much of that stays and what to evaluate next to obtain
  // Render(messages, options). For ChatML templates the old text is a prefix (keep_bytes = its
  // size, text = the new turns and the generation prompt). Qwen3 drops the reasoning of earlier
  // assistant turns once a new user turn follows them, so the renderings then part earlier:
  // keep_bytes falls back to the end of the last turn ("<|im_end|>\n") both share, a token
  // boundary, and the engine re-evaluates from there.
  Result<ChatDelta> RenderDelta(std::span<const ChatMessage> messages, size_t old_count,
                                const ChatRenderOptions& options = {}) const;

  // "chatml", "qwen2", "qwen2.5", "qwen3", or "chatml-style" for a template recognised by its text.
  const std::string& name() const { return name_; }
  const std::optional<std::string>& default_system() const { return default_system_; }

 private:
  ChatTemplate() = default;
  void RenderAssistantQwen3(const ChatMessage& m, bool after_last_query, bool last, std::string& out) const;

  std::string name_;
  std::optional<std::string> default_system_;
  bool role_branches_ = false;     // renders only known roles; tool messages as <tool_response>
  bool qwen3_reasoning_ = false;   // Qwen3 <think> handling of assistant turns
  bool enable_thinking_switch_ = false;
  std::string generation_prompt_ = "<|im_start|>assistant\n";
};

}  // namespace st
