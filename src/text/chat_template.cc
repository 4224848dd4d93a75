#include "text/chat_template.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace st {

namespace {

constexpr std::string_view kImEndNl = "<|im_end|>\n";

// The built-ins, for files without a template. Each renders as the family's published template
// does for conversations of system, user, assistant and tool messages (no tool definitions).
// `content` of a message that has none (null, a list of parts) renders as empty.
constexpr std::string_view kChatml = R"JINJA(
{%- for message in messages -%}
{{- '<|im_start|>' ~ message.role ~ '\n' ~ (message.content if message.content is string else '') ~ '<|im_end|>\n' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\n' -}}{%- endif -%}
)JINJA";

constexpr std::string_view kQwen2 = R"JINJA(
{%- if not messages or messages[0].role != 'system' -%}
{{- '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' -}}
{%- endif -%}
{%- for message in messages -%}
{{- '<|im_start|>' ~ message.role ~ '\n' ~ (message.content if message.content is string else '') ~ '<|im_end|>\n' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\n' -}}{%- endif -%}
)JINJA";

// Qwen2.5 and Qwen3 share the role handling: unknown roles print nothing, consecutive tool
// results share one user turn. Qwen3 adds the reasoning rules: an assistant turn after the last
// real user query keeps its <think> block, earlier ones lose it.
constexpr std::string_view kQwenRoles = R"JINJA(
{%- if default_system is defined and (not messages or messages[0].role != 'system') -%}
{{- '<|im_start|>system\n' ~ default_system ~ '<|im_end|>\n' -}}
{%- endif -%}
{%- set ns = namespace(last_query=messages|length - 1, found=false) -%}
{%- for m in messages|reverse -%}
{%- set c = m.content if m.content is string else '' -%}
{%- if not ns.found and m.role == 'user' and not (c.startswith('<tool_response>') and c.endswith('</tool_response>')) -%}
{%- set ns.last_query = messages|length - loop.index -%}
{%- set ns.found = true -%}
{%- endif -%}
{%- endfor -%}
{%- for m in messages -%}
{%- set content = m.content if m.content is string else '' -%}
{%- if m.role == 'user' or m.role == 'system' -%}
{{- '<|im_start|>' ~ m.role ~ '\n' ~ content ~ '<|im_end|>\n' -}}
{%- elif m.role == 'assistant' and not reasoning -%}
{{- '<|im_start|>assistant\n' ~ content ~ '<|im_end|>\n' -}}
{%- elif m.role == 'assistant' -%}
{%- set thought = '' -%}
{%- if m.reasoning_content is string -%}
{%- set thought = m.reasoning_content -%}
{%- elif '</think>' in content -%}
{%- set thought = content.split('</think>')[0].rstrip('\n').split('<think>')[-1].lstrip('\n') -%}
{%- set content = content.split('</think>')[-1].lstrip('\n') -%}
{%- endif -%}
{%- if loop.index0 > ns.last_query and (loop.last or thought) -%}
{{- '<|im_start|>assistant\n<think>\n' ~ thought.strip('\n') ~ '\n</think>\n\n' ~ content.lstrip('\n') -}}
{%- else -%}
{{- '<|im_start|>assistant\n' ~ content -}}
{%- endif -%}
{{- '<|im_end|>\n' -}}
{%- elif m.role == 'tool' -%}
{%- if loop.first or loop.previtem.role != 'tool' -%}{{- '<|im_start|>user' -}}{%- endif -%}
{{- '\n<tool_response>\n' ~ content ~ '\n</tool_response>' -}}
{%- if loop.last or loop.nextitem.role != 'tool' -%}{{- '<|im_end|>\n' -}}{%- endif -%}
{%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}
{{- '<|im_start|>assistant\n' -}}
{%- if reasoning and enable_thinking is defined and enable_thinking is false -%}{{- '<think>\n\n</think>\n\n' -}}{%- endif -%}
{%- endif -%}
)JINJA";

struct Builtin {
  std::string_view name;
  std::string_view text;
  std::string_view preamble;  // variables the shared text reads
};

constexpr Builtin kBuiltins[] = {
    {"chatml", kChatml, ""},
    {"qwen2", kQwen2, ""},
    {"qwen2.5", kQwenRoles,
     "{%- set default_system = 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' -%}"
     "{%- set reasoning = false -%}"},
    {"qwen3", kQwenRoles, "{%- set reasoning = true -%}"},
};

Result<std::shared_ptr<const jinja::Template>> Compile(std::string_view text) {
  auto t = jinja::Template::Parse(text);
  if (!t.ok()) return t.status();
  return std::make_shared<const jinja::Template>(std::move(*t));
}

// An ordered JSON object text -> the fields it adds; empty text adds none.
Result<nlohmann::ordered_json> ParseObject(const std::string& text, const char* what) {
  if (text.empty()) return nlohmann::ordered_json::object();
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgument(fmt::format("{} is not valid JSON", what));
  return j;
}

}  // namespace

Result<ChatMessage> ChatMessage::FromJson(const nlohmann::ordered_json& j) {
  if (!j.is_object()) return InvalidArgument("expected an object with a string \"role\" and a \"content\"");
  const auto role = j.find("role");
  if (role == j.end() || !role->is_string() || role->get<std::string>().empty()) {
    return InvalidArgument("\"role\" must be a non-empty string");
  }
  ChatMessage m;
  m.role = role->get<std::string>();
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();
  for (const auto& [key, value] : j.items()) {
    if (key == "role") continue;
    if (key == "content") {
      if (value.is_string()) {
        m.content = value.get<std::string>();
        continue;
      }
      if (!value.is_null() && !value.is_array()) {
        return InvalidArgument("\"content\" must be a string, null or a list of parts");
      }
    } else if (key == "reasoning_content" && value.is_string()) {
      m.reasoning_content = value.get<std::string>();
      continue;
    }
    extra[key] = value;
  }
  if (!extra.empty()) m.extra_json = extra.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  return m;
}

nlohmann::ordered_json ChatMessage::ToJson() const {
  nlohmann::ordered_json j = {{"role", role}, {"content", content}};
  if (reasoning_content) j["reasoning_content"] = *reasoning_content;
  if (!extra_json.empty()) {
    const auto extra = nlohmann::ordered_json::parse(extra_json, nullptr, /*allow_exceptions=*/false);
    if (extra.is_object()) {
      for (const auto& [k, v] : extra.items()) j[k] = v;
    }
  }
  return j;
}

std::vector<std::string> ChatTemplate::BuiltinNames() {
  std::vector<std::string> names;
  for (const Builtin& b : kBuiltins) names.emplace_back(b.name);
  return names;
}

Result<ChatTemplate> ChatTemplate::FromNameOrText(std::string_view name_or_text) {
  for (const Builtin& b : kBuiltins) {
    if (name_or_text != b.name) continue;
    ChatTemplate t;
    t.name_ = std::string(b.name);
    auto compiled = Compile(std::string(b.preamble) + std::string(b.text));
    ST_CHECK(compiled.ok());  // our own text
    t.template_ = std::move(*compiled);
    return t;
  }
  if (name_or_text.find("{{") == std::string_view::npos && name_or_text.find("{%") == std::string_view::npos) {
    return InvalidArgument(fmt::format("unknown chat template name '{}' (built-in: chatml, qwen2, qwen2.5, qwen3; "
                                       "or give the template's Jinja text)", name_or_text));
  }
  return FromText(name_or_text);
}

Result<ChatTemplate> ChatTemplate::FromText(std::string_view text) {
  ChatTemplate t;
  t.name_ = "jinja";
  ST_ASSIGN_OR_RETURN(t.template_, Compile(text));
  return t;
}

Result<ChatTemplate> ChatTemplate::Select(std::string_view override_name_or_text, std::string_view model_template) {
  if (!override_name_or_text.empty()) return FromNameOrText(override_name_or_text);
  if (!model_template.empty()) return FromText(model_template);
  return FromNameOrText("chatml");
}

void ChatTemplate::SetSpecialTokens(std::optional<std::string> bos, std::optional<std::string> eos) {
  bos_token_ = std::move(bos);
  eos_token_ = std::move(eos);
}

void ChatTemplate::SetSpecialTokensFrom(const Tokenizer& tok) {
  auto piece = [&](int32_t id) -> std::optional<std::string> {
    if (id < 0 || id >= tok.n_vocab()) return std::nullopt;
    return tok.TokenToPiece(id, /*render_special=*/true);
  };
  SetSpecialTokens(piece(tok.bos()), piece(tok.eos()));
}

Result<std::string> ChatTemplate::Render(std::span<const ChatMessage> messages,
                                         const ChatRenderOptions& options) const {
  jinja::List list;
  for (size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    if (m.role.empty()) return InvalidArgument("chat message with an empty role");
    nlohmann::ordered_json j = {{"role", m.role}, {"content", m.content}};
    if (m.reasoning_content) j["reasoning_content"] = *m.reasoning_content;
    auto extra = ParseObject(m.extra_json, "a message's extra fields");
    if (!extra.ok()) return extra.status().WithContext(fmt::format("message {}", i));
    if (!extra->is_object()) return InvalidArgument(fmt::format("message {}: extra fields must be a JSON object", i));
    for (auto& [k, v] : extra->items()) j[k] = v;
    list.push_back(jinja::FromJson(j));
  }
  jinja::Dict vars;
  vars.Set("messages", jinja::Value::MakeList(std::move(list)));
  ST_ASSIGN_OR_RETURN(nlohmann::ordered_json tools, ParseObject(options.tools_json, "the tools"));
  vars.Set("tools", options.tools_json.empty() ? jinja::Value::Null() : jinja::FromJson(tools));
  vars.Set("documents", jinja::Value::Null());
  vars.Set("add_generation_prompt", jinja::Value(options.add_generation_prompt));
  if (bos_token_) vars.Set("bos_token", jinja::Value(*bos_token_));
  if (eos_token_) vars.Set("eos_token", jinja::Value(*eos_token_));
  ST_ASSIGN_OR_RETURN(nlohmann::ordered_json extra, ParseObject(options.extra_variables_json, "the template variables"));
  if (!extra.is_object()) return InvalidArgument("the template variables must be a JSON object");
  for (auto& [k, v] : extra.items()) vars.Set(k, jinja::FromJson(v));
  if (options.enable_thinking) vars.Set("enable_thinking", jinja::Value(*options.enable_thinking));
  return template_->Render(vars);
}

Result<ChatDelta> ChatTemplate::RenderDelta(std::span<const ChatMessage> messages, size_t old_count,
                                            const ChatRenderOptions& options) const {
  if (old_count > messages.size()) {
    return InvalidArgument(fmt::format("RenderDelta: {} old messages of {}", old_count, messages.size()));
  }
  ChatRenderOptions old_options = options;
  old_options.add_generation_prompt = false;
  ST_ASSIGN_OR_RETURN(std::string new_text, Render(messages, options));
  // A template may refuse the shorter conversation (no messages, one ending with an answer): then
  // nothing of the old rendering is known to stay.
  auto old = Render(messages.first(old_count), old_options);
  if (!old.ok()) return ChatDelta{0, std::move(new_text)};
  const std::string& old_text = *old;
  size_t common = 0;
  while (common < old_text.size() && common < new_text.size() && old_text[common] == new_text[common]) ++common;
  ChatDelta d;
  if (common == old_text.size()) {
    d.keep_bytes = common;
  } else {
    // Back to the end of the last whole ChatML turn both share: a token boundary (<|im_end|> is
    // one token), or nothing for the built-ins (all ChatML) when no whole turn is shared. A file's
    // template: where they part (the engine keeps the whole tokens that still match).
    const size_t p = std::string_view(old_text).substr(0, common).rfind(kImEndNl);
    if (p != std::string_view::npos) {
      d.keep_bytes = p + kImEndNl.size();
    } else {
      d.keep_bytes = name_ == "jinja" ? common : 0;
    }
  }
  d.text = new_text.substr(d.keep_bytes);
  return d;
}

}  // namespace st
