#include "text/chat_template.h"

#include <fmt/format.h>

namespace st {

namespace {

constexpr std::string_view kImStart = "<|im_start|>";
constexpr std::string_view kImEndNl = "<|im_end|>\n";
constexpr std::string_view kQwen2System = "You are a helpful assistant.";
constexpr std::string_view kQwen25System = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";

bool Contains(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }

// Python's str.lstrip/rstrip/strip of one character.
std::string_view LStrip(std::string_view s, char c) {
  while (!s.empty() && s.front() == c) s.remove_prefix(1);
  return s;
}
std::string_view RStrip(std::string_view s, char c) {
  while (!s.empty() && s.back() == c) s.remove_suffix(1);
  return s;
}
std::string_view Strip(std::string_view s, char c) { return LStrip(RStrip(s, c), c); }
// s.split(sep)[0] and s.split(sep)[-1].
std::string_view BeforeFirst(std::string_view s, std::string_view sep) {
  const size_t p = s.find(sep);
  return p == std::string_view::npos ? s : s.substr(0, p);
}
std::string_view AfterLast(std::string_view s, std::string_view sep) {
  const size_t p = s.rfind(sep);
  return p == std::string_view::npos ? s : s.substr(p + sep.size());
}

// A Jinja string literal starting at text[i] (a quote); sets `out` and returns the index after the
// closing quote, or npos if there is none.
size_t ParseStringLiteral(std::string_view text, size_t i, std::string& out) {
  const char quote = text[i];
  out.clear();
  for (size_t k = i + 1; k < text.size(); ++k) {
    const char c = text[k];
    if (c == quote) return k + 1;
    if (c != '\\' || k + 1 == text.size()) {
      out += c;
      continue;
    }
    const char e = text[++k];
    switch (e) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      default: out += e; break;  // \\ \' \" and anything else: the character itself
    }
  }
  return std::string_view::npos;
}

// The default system prompt: a literal '<|im_start|>system\n<prompt><|im_end|>\n' with no
// expression inside (as opposed to '<|im_start|>system\n' + messages[0]['content'] + ...).
std::optional<std::string> FindDefaultSystem(std::string_view text) {
  for (size_t p = text.find(kImStart); p != std::string_view::npos; p = text.find(kImStart, p + 1)) {
    if (p == 0 || (text[p - 1] != '\'' && text[p - 1] != '"')) continue;
    std::string literal;
    if (ParseStringLiteral(text, p - 1, literal) == std::string_view::npos) continue;
    const std::string head = std::string(kImStart) + "system\n";
    if (literal.size() > head.size() + kImEndNl.size() && literal.starts_with(head) && literal.ends_with(kImEndNl)) {
      return literal.substr(head.size(), literal.size() - head.size() - kImEndNl.size());
    }
  }
  return std::nullopt;
}

// The literal printed under the last `add_generation_prompt` test: {{- '<|im_start|>assistant\n' }}.
std::optional<std::string> FindGenerationPrompt(std::string_view text) {
  const size_t p = text.rfind("add_generation_prompt");
  if (p == std::string_view::npos) return std::nullopt;
  size_t i = text.find("{{", p);
  if (i == std::string_view::npos) return std::nullopt;
  i += 2;
  while (i < text.size() && (text[i] == '-' || text[i] == ' ' || text[i] == '\n')) ++i;
  if (i >= text.size() || (text[i] != '\'' && text[i] != '"')) return std::nullopt;
  std::string literal;
  i = ParseStringLiteral(text, i, literal);
  if (i == std::string_view::npos) return std::nullopt;
  while (i < text.size() && (text[i] == ' ' || text[i] == '\n')) ++i;
  if (text.substr(i, 2) != "}}" && text.substr(i, 3) != "-}}") return std::nullopt;  // not a lone literal
  return literal;
}

void AppendTurn(std::string_view role, std::string_view content, std::string& out) {
  out += kImStart;
  out += role;
  out += '\n';
  out += content;
  out += kImEndNl;
}

// Qwen3's last_query_index: the last user message that is not a wrapped tool response.
size_t LastQueryIndex(std::span<const ChatMessage> messages) {
  for (size_t i = messages.size(); i-- > 0;) {
    const std::string& c = messages[i].content;
    const bool tool_response = c.starts_with("<tool_response>") && c.ends_with("</tool_response>");
    if (messages[i].role == "user" && !tool_response) return i;
  }
  return messages.empty() ? 0 : messages.size() - 1;
}

}  // namespace

std::vector<std::string> ChatTemplate::BuiltinNames() { return {"chatml", "qwen2", "qwen2.5", "qwen3"}; }

Result<ChatTemplate> ChatTemplate::FromNameOrText(std::string_view name_or_text) {
  ChatTemplate t;
  t.name_ = std::string(name_or_text);
  if (name_or_text == "chatml") return t;
  if (name_or_text == "qwen2") {
    t.default_system_ = std::string(kQwen2System);
    return t;
  }
  if (name_or_text == "qwen2.5") {
    t.default_system_ = std::string(kQwen25System);
    t.role_branches_ = true;
    return t;
  }
  if (name_or_text == "qwen3") {
    t.role_branches_ = t.qwen3_reasoning_ = t.enable_thinking_switch_ = true;
    return t;
  }
  if (!Contains(name_or_text, "{{") && !Contains(name_or_text, "{%")) {
    return InvalidArgument(fmt::format("unknown chat template name '{}' (built-in: chatml, qwen2, qwen2.5, qwen3; "
                                       "or give the template's Jinja text)", name_or_text));
  }
  return FromText(name_or_text);
}

Result<ChatTemplate> ChatTemplate::FromText(std::string_view text) {
  if (!Contains(text, kImStart) || !Contains(text, "<|im_end|>")) {
    return InvalidArgument(
        "chat template not recognised: only ChatML-style templates (<|im_start|>role ... <|im_end|>) are supported; "
        "use --chat-template chatml to render with the built-in ChatML template");
  }
  ChatTemplate t;
  t.default_system_ = FindDefaultSystem(text);
  t.role_branches_ = Contains(text, "== \"user\"") || Contains(text, "== 'user'");
  t.qwen3_reasoning_ = Contains(text, "reasoning_content") || Contains(text, "</think>");
  t.enable_thinking_switch_ = Contains(text, "enable_thinking");
  if (auto gp = FindGenerationPrompt(text)) t.generation_prompt_ = *gp;
  const bool plain = !t.default_system_ && !t.role_branches_ && !t.qwen3_reasoning_ &&
                     t.generation_prompt_ == "<|im_start|>assistant\n";
  t.name_ = t.qwen3_reasoning_ ? "qwen3" : plain ? "chatml" : "chatml-style";
  return t;
}

Result<ChatTemplate> ChatTemplate::Select(std::string_view override_name_or_text, std::string_view model_template) {
  if (!override_name_or_text.empty()) return FromNameOrText(override_name_or_text);
  if (!model_template.empty()) return FromText(model_template);
  return FromNameOrText("chatml");
}

void ChatTemplate::RenderAssistantQwen3(const ChatMessage& m, bool after_last_query, bool last,
                                        std::string& out) const {
  std::string_view content = m.content;
  std::string_view reasoning;
  if (m.reasoning_content) {
    reasoning = *m.reasoning_content;
  } else if (Contains(content, "</think>")) {
    reasoning = LStrip(AfterLast(RStrip(BeforeFirst(content, "</think>"), '\n'), "<think>"), '\n');
    content = LStrip(AfterLast(content, "</think>"), '\n');
  }
  out += kImStart;
  out += "assistant\n";
  if (after_last_query && (last || !reasoning.empty())) {
    out += "<think>\n";
    out += Strip(reasoning, '\n');
    out += "\n</think>\n\n";
    out += LStrip(content, '\n');
  } else {
    out += content;
  }
  out += kImEndNl;
}

Result<std::string> ChatTemplate::Render(std::span<const ChatMessage> messages,
                                         const ChatRenderOptions& options) const {
  std::string out;
  for (const ChatMessage& m : messages) {
    if (m.role.empty()) return InvalidArgument("chat message with an empty role");
  }
  if (default_system_ && (messages.empty() || messages[0].role != "system")) {
    AppendTurn("system", *default_system_, out);
  }
  const size_t last_query = LastQueryIndex(messages);
  for (size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    const bool last = i + 1 == messages.size();
    if (!role_branches_ || m.role == "user" || m.role == "system") {
      AppendTurn(m.role, m.content, out);
    } else if (m.role == "assistant") {
      if (qwen3_reasoning_) {
        RenderAssistantQwen3(m, i > last_query, last, out);
      } else {
        AppendTurn(m.role, m.content, out);
      }
    } else if (m.role == "tool") {
      // Consecutive tool messages share one user turn.
      if (i == 0 || messages[i - 1].role != "tool") out += "<|im_start|>user";
      out += "\n<tool_response>\n" + m.content + "\n</tool_response>";
      if (last || messages[i + 1].role != "tool") out += kImEndNl;
    }  // other roles: these templates print nothing for them
  }
  if (options.add_generation_prompt) {
    out += generation_prompt_;
    if (enable_thinking_switch_ && options.enable_thinking == false) out += "<think>\n\n</think>\n\n";
  }
  return out;
}

Result<ChatDelta> ChatTemplate::RenderDelta(std::span<const ChatMessage> messages, size_t old_count,
                                            const ChatRenderOptions& options) const {
  if (old_count > messages.size()) {
    return InvalidArgument(fmt::format("RenderDelta: {} old messages of {}", old_count, messages.size()));
  }
  ChatRenderOptions old_options = options;
  old_options.add_generation_prompt = false;
  ST_ASSIGN_OR_RETURN(std::string old_text, Render(messages.first(old_count), old_options));
  ST_ASSIGN_OR_RETURN(std::string new_text, Render(messages, options));
  size_t common = 0;
  while (common < old_text.size() && common < new_text.size() && old_text[common] == new_text[common]) ++common;
  ChatDelta d;
  if (common == old_text.size()) {
    d.keep_bytes = common;
  } else {
    // Back to the end of the last whole turn both share: a token boundary (<|im_end|> is one token).
    const size_t p = std::string_view(old_text).substr(0, common).rfind(kImEndNl);
    d.keep_bytes = p == std::string_view::npos ? 0 : p + kImEndNl.size();
  }
  d.text = new_text.substr(d.keep_bytes);
  return d;
}

}  // namespace st
