#include "server/openai_api.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <random>

#include "text/tokenizer.h"

namespace st {
namespace {

ApiError Bad(std::string message) { return {400, std::move(message), "invalid_request_error"}; }

// Field readers: absent or null leaves *out as it is; a wrong type or range is an error naming the field.
std::optional<ApiError> GetBool(const json& b, const char* key, bool* out) {
  if (!b.contains(key) || b[key].is_null()) return std::nullopt;
  if (!b[key].is_boolean()) return Bad(fmt::format("'{}' must be a boolean", key));
  *out = b[key].get<bool>();
  return std::nullopt;
}

std::optional<ApiError> GetFloat(const json& b, const char* key, float* out, double lo, double hi) {
  if (!b.contains(key) || b[key].is_null()) return std::nullopt;
  if (!b[key].is_number()) return Bad(fmt::format("'{}' must be a number", key));
  const double v = b[key].get<double>();
  if (!std::isfinite(v) || v < lo || v > hi) return Bad(fmt::format("'{}' must be between {} and {}", key, lo, hi));
  *out = static_cast<float>(v);
  return std::nullopt;
}

std::optional<ApiError> GetInt(const json& b, const char* key, int64_t* out, int64_t lo, int64_t hi) {
  if (!b.contains(key) || b[key].is_null()) return std::nullopt;
  const json& v = b[key];
  int64_t x = 0;
  if (v.is_number_integer()) {
    x = v.is_number_unsigned() ? static_cast<int64_t>(std::min<uint64_t>(v.get<uint64_t>(), INT64_MAX)) : v.get<int64_t>();
  } else if (v.is_number_float() && std::nearbyint(v.get<double>()) == v.get<double>() &&
             std::fabs(v.get<double>()) < 9e18) {
    x = static_cast<int64_t>(v.get<double>());
  } else {
    return Bad(fmt::format("'{}' must be an integer", key));
  }
  if (x < lo || x > hi) return Bad(fmt::format("'{}' must be between {} and {}", key, lo, hi));
  *out = x;
  return std::nullopt;
}

#define ST_TRY(expr)                        \
  do {                                      \
    if (auto e_ = (expr)) return e_;        \
  } while (0)

// The fields both endpoints share: sampling, length, stop strings, streaming.
std::optional<ApiError> ParseCommon(const json& b, const RequestDefaults& d, ParsedCompletion* out) {
  CompletionParams& p = out->params;
  p.sampling = d.sampling;
  SamplerParams& s = p.sampling;
  ST_TRY(GetFloat(b, "temperature", &s.temperature, 0, 1e6));
  ST_TRY(GetFloat(b, "top_p", &s.top_p, 0, 1));
  ST_TRY(GetFloat(b, "min_p", &s.min_p, 0, 1));
  ST_TRY(GetFloat(b, "presence_penalty", &s.presence_penalty, -2, 2));
  ST_TRY(GetFloat(b, "frequency_penalty", &s.frequency_penalty, -2, 2));
  ST_TRY(GetFloat(b, "repeat_penalty", &s.repeat_penalty, 1e-6, 1e6));
  int64_t v = s.top_k;
  ST_TRY(GetInt(b, "top_k", &v, 0, INT32_MAX));
  s.top_k = static_cast<int32_t>(v);
  v = s.repeat_last_n;
  ST_TRY(GetInt(b, "repeat_last_n", &v, -1, INT32_MAX));
  s.repeat_last_n = static_cast<int32_t>(v);
  v = -1;
  ST_TRY(GetInt(b, "seed", &v, -1, UINT32_MAX));
  if (b.contains("seed") && !b["seed"].is_null()) s.seed = v < 0 ? kRandomSeed : static_cast<uint32_t>(v);
  // The length: OpenAI's newer and older names, then llama-server's.
  p.max_tokens = d.n_predict;
  for (const char* key : {"n_predict", "max_tokens", "max_completion_tokens"}) {
    v = p.max_tokens;
    ST_TRY(GetInt(b, key, &v, -1, INT32_MAX));
    p.max_tokens = static_cast<int32_t>(v);
  }
  v = 1;
  ST_TRY(GetInt(b, "n", &v, 1, INT32_MAX));
  if (v != 1) return Bad("'n' must be 1: one choice per request (send several requests instead)");
  if (b.contains("stop") && !b["stop"].is_null()) {
    const json& st = b["stop"];
    if (st.is_string()) {
      p.stop.push_back(st.get<std::string>());
    } else if (st.is_array() && st.size() <= 16) {
      for (const json& x : st) {
        if (!x.is_string()) return Bad("'stop' must be a string or an array of strings");
        p.stop.push_back(x.get<std::string>());
      }
    } else {
      return Bad("'stop' must be a string or an array of at most 16 strings");
    }
  }
  ST_TRY(GetBool(b, "stream", &out->stream));
  if (b.contains("stream_options") && !b["stream_options"].is_null()) {
    if (!b["stream_options"].is_object()) return Bad("'stream_options' must be an object");
    ST_TRY(GetBool(b["stream_options"], "include_usage", &out->include_usage));
  }
  ST_TRY(GetBool(b, "ignore_eos", &p.ignore_eos));
  ST_TRY(GetBool(b, "cache_prompt", &p.cache_prompt));
  if (b.contains("logit_bias") && !b["logit_bias"].is_null() &&
      !(b["logit_bias"].is_object() && b["logit_bias"].empty())) {
    return Bad("'logit_bias' is not supported by this server");
  }
  if (b.contains("response_format") && !b["response_format"].is_null()) {
    const json& rf = b["response_format"];
    if (!rf.is_object() || !rf.contains("type") || !rf["type"].is_string()) {
      return Bad("'response_format' must be an object with a string 'type'");
    }
    if (rf["type"] != "text") {
      return Bad(fmt::format("'response_format' type '{}' is not supported (only 'text')", rf["type"].get<std::string>()));
    }
  }
  if (b.contains("model") && !b["model"].is_null() && !b["model"].is_string()) return Bad("'model' must be a string");
  // The sampler's own checks (a NaN cannot come from JSON, but keep one rule for every caller).
  if (auto sm = Sampler::Create(s); !sm.ok()) return Bad(sm.status().message());
  return std::nullopt;
}

std::string PieceText(const smallthinker::Tokenizer& tok, int32_t id) { return tok.TokenToPiece(id, true); }

json BytesOf(const std::string& s) {
  json a = json::array();
  for (unsigned char c : s) a.push_back(static_cast<int>(c));
  return a;
}

json ChatLogprobs(const std::vector<TokenLogprobs>& lps, const smallthinker::Tokenizer& tok) {
  json content = json::array();
  for (const TokenLogprobs& t : lps) {
    const std::string piece = PieceText(tok, t.chosen.id);
    json top = json::array();
    for (const TokenProb& c : t.top) {
      const std::string cp = PieceText(tok, c.id);
      top.push_back({{"token", cp}, {"logprob", c.logprob}, {"bytes", BytesOf(cp)}});
    }
    content.push_back({{"token", piece}, {"logprob", t.chosen.logprob}, {"bytes", BytesOf(piece)}, {"top_logprobs", top}});
  }
  return {{"content", content}};
}

// The legacy completions shape; text_offset counts from the start of `lps`' text.
json CompletionLogprobs(const std::vector<TokenLogprobs>& lps, const smallthinker::Tokenizer& tok) {
  size_t offset = 0;
  json tokens = json::array(), token_lps = json::array(), top = json::array(), offsets = json::array();
  for (const TokenLogprobs& t : lps) {
    const std::string piece = PieceText(tok, t.chosen.id);
    tokens.push_back(piece);
    token_lps.push_back(t.chosen.logprob);
    json alts = json::object();
    for (const TokenProb& c : t.top) alts[PieceText(tok, c.id)] = c.logprob;
    top.push_back(alts);
    offsets.push_back(offset);
    offset += piece.size();
  }
  return {{"tokens", tokens}, {"token_logprobs", token_lps}, {"top_logprobs", top}, {"text_offset", offsets}};
}

json Envelope(const ParsedCompletion& req, const ResponseMeta& meta, bool chunk) {
  const char* object = req.kind == ApiKind::kChat ? (chunk ? "chat.completion.chunk" : "chat.completion")
                                                  : "text_completion";
  return {{"id", meta.id}, {"object", object}, {"created", meta.created}, {"model", meta.model}};
}

}  // namespace

json ErrorBody(const ApiError& e) {
  return {{"error", {{"message", e.message}, {"type", e.type}, {"code", e.status}}}};
}

std::optional<ApiError> ParseMessages(const json& body, std::vector<ChatMessage>* out) {
  if (!body.contains("messages")) return Bad("'messages' is required");
  const json& ms = body["messages"];
  if (!ms.is_array() || ms.empty()) return Bad("'messages' must be a non-empty array");
  for (size_t i = 0; i < ms.size(); ++i) {
    const json& m = ms[i];
    if (!m.is_object()) return Bad(fmt::format("messages[{}] must be an object", i));
    if (!m.contains("role") || !m["role"].is_string()) return Bad(fmt::format("messages[{}].role must be a string", i));
    std::string role = m["role"].get<std::string>();
    if (role == "developer") role = "system";  // OpenAI's newer name for the system role
    if (role != "system" && role != "user" && role != "assistant" && role != "tool") {
      return Bad(fmt::format("messages[{}].role '{}' is unknown (system, developer, user, assistant or tool)", i, role));
    }
    ChatMessage msg{role, "", std::nullopt};
    const json c = m.contains("content") ? m["content"] : json();
    if (c.is_string()) {
      msg.content = c.get<std::string>();
    } else if (c.is_array()) {
      for (size_t k = 0; k < c.size(); ++k) {
        const json& part = c[k];
        if (!part.is_object() || !part.contains("type") || !part["type"].is_string()) {
          return Bad(fmt::format("messages[{}].content[{}] must be an object with a string 'type'", i, k));
        }
        if (part["type"] != "text") {
          return Bad(fmt::format("messages[{}].content[{}]: type '{}' is not supported (text only)", i, k,
                                 part["type"].get<std::string>()));
        }
        if (!part.contains("text") || !part["text"].is_string()) {
          return Bad(fmt::format("messages[{}].content[{}].text must be a string", i, k));
        }
        msg.content += part["text"].get<std::string>();
      }
    } else if (!(c.is_null() && role == "assistant")) {
      return Bad(fmt::format("messages[{}].content must be a string or an array of text parts", i));
    }
    if (m.contains("tool_calls") && !m["tool_calls"].is_null() && !(m["tool_calls"].is_array() && m["tool_calls"].empty())) {
      return Bad(fmt::format("messages[{}].tool_calls: tool calls are not supported by this server", i));
    }
    if (m.contains("reasoning_content") && !m["reasoning_content"].is_null()) {
      if (!m["reasoning_content"].is_string()) return Bad(fmt::format("messages[{}].reasoning_content must be a string", i));
      msg.reasoning_content = m["reasoning_content"].get<std::string>();
    }
    out->push_back(std::move(msg));
  }
  return std::nullopt;
}

std::optional<ApiError> ParseRenderOptions(const json& body, ChatRenderOptions* out) {
  if (!body.contains("chat_template_kwargs") || body["chat_template_kwargs"].is_null()) return std::nullopt;
  const json& kw = body["chat_template_kwargs"];
  if (!kw.is_object()) return Bad("'chat_template_kwargs' must be an object");
  bool thinking = true;
  if (kw.contains("enable_thinking")) {
    ST_TRY(GetBool(kw, "enable_thinking", &thinking));
    out->enable_thinking = thinking;
  }
  out->extra_variables_json = kw.dump();  // every key is a variable the template may read
  return std::nullopt;
}

std::optional<ApiError> ParseChatRequest(const json& body, const RequestDefaults& defaults, const ChatTemplate* tmpl,
                                         const std::string& template_error, const smallthinker::Tokenizer& tokenizer,
                                         ParsedCompletion* out) {
  if (!body.is_object()) return Bad("the request body must be a JSON object");
  out->kind = ApiKind::kChat;
  std::vector<ChatMessage> messages;
  ST_TRY(ParseMessages(body, &messages));
  ST_TRY(ParseCommon(body, defaults, out));
  if (body.contains("tools") && !body["tools"].is_null() && !(body["tools"].is_array() && body["tools"].empty())) {
    return Bad("'tools' is not supported by this server (its chat template renders no tool definitions)");
  }
  ST_TRY(GetBool(body, "logprobs", &out->logprobs));
  int64_t top = 0;
  ST_TRY(GetInt(body, "top_logprobs", &top, 0, 20));
  if (top > 0 && !out->logprobs) return Bad("'top_logprobs' needs 'logprobs': true");
  out->params.logprobs = out->logprobs;
  out->params.n_probs = static_cast<int32_t>(top);
  ChatRenderOptions options;
  ST_TRY(ParseRenderOptions(body, &options));
  if (!tmpl) return ApiError{500, "no usable chat template: " + template_error, "server_error"};
  auto text = tmpl->Render(messages, options);
  if (!text.ok()) return Bad("chat template: " + text.status().message());
  out->params.prompt = tokenizer.Encode(*text, tokenizer.AddBosFor(*text), /*parse_special=*/true);
  return std::nullopt;
}

std::optional<ApiError> ParseCompletionRequest(const json& body, const RequestDefaults& defaults,
                                               const smallthinker::Tokenizer& tokenizer, ParsedCompletion* out) {
  if (!body.is_object()) return Bad("the request body must be a JSON object");
  out->kind = ApiKind::kCompletion;
  if (!body.contains("prompt")) return Bad("'prompt' is required");
  const json& pr = body["prompt"];
  std::vector<int32_t>& ids = out->params.prompt;
  if (pr.is_string()) {
    ids = tokenizer.Encode(pr.get<std::string>(), tokenizer.add_bos(), /*parse_special=*/true);
  } else if (pr.is_array() && pr.size() == 1 && pr[0].is_string()) {
    ids = tokenizer.Encode(pr[0].get<std::string>(), tokenizer.add_bos(), /*parse_special=*/true);
  } else if (pr.is_array() && !pr.empty() && pr[0].is_string()) {
    return Bad("'prompt': several prompts in one request are not supported; send one request each");
  } else if (pr.is_array()) {
    for (size_t i = 0; i < pr.size(); ++i) {
      if (!pr[i].is_number_integer() || pr[i].get<int64_t>() < 0 || pr[i].get<int64_t>() >= tokenizer.n_vocab()) {
        return Bad(fmt::format("'prompt'[{}] must be a token id in [0, {})", i, tokenizer.n_vocab()));
      }
      ids.push_back(pr[i].get<int32_t>());
    }
  } else {
    return Bad("'prompt' must be a string or an array of token ids");
  }
  if (ids.empty()) return Bad("'prompt' is empty");
  ST_TRY(ParseCommon(body, defaults, out));
  int64_t n = 0;
  ST_TRY(GetInt(body, "logprobs", &n, 0, 20));
  ST_TRY(GetInt(body, "n_probs", &n, 0, 20));
  const bool asked = (body.contains("logprobs") && !body["logprobs"].is_null()) ||
                     (body.contains("n_probs") && !body["n_probs"].is_null() && n > 0);
  out->logprobs = out->params.logprobs = asked;
  out->params.n_probs = static_cast<int32_t>(n);
  return std::nullopt;
}

json UsageJson(const CompletionResult& r) {
  return {{"prompt_tokens", r.prompt_tokens},
          {"completion_tokens", r.completion_tokens},
          {"total_tokens", r.prompt_tokens + r.completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", r.cached_tokens}}}};
}

json TimingsJson(const CompletionResult& r) {
  const uint32_t evaluated = r.prompt_tokens - r.cached_tokens;
  return {{"cache_n", r.cached_tokens},
          {"prompt_n", evaluated},
          {"prompt_ms", r.prompt_ms},
          {"prompt_per_second", r.prompt_ms > 0 ? 1000.0 * evaluated / r.prompt_ms : 0.0},
          {"predicted_n", r.completion_tokens},
          {"predicted_ms", r.predicted_ms},
          {"predicted_per_second", r.predicted_ms > 0 ? 1000.0 * r.completion_tokens / r.predicted_ms : 0.0},
          {"queued_ms", r.queued_ms}};
}

json CompletionResponse(const ParsedCompletion& req, const ResponseMeta& meta, const std::string& text,
                        const std::vector<TokenLogprobs>& logprobs, const CompletionResult& result,
                        const smallthinker::Tokenizer& tokenizer) {
  json j = Envelope(req, meta, false);
  json choice = {{"index", 0}};
  if (req.kind == ApiKind::kChat) {
    choice["message"] = {{"role", "assistant"}, {"content", text}};
    choice["logprobs"] = req.logprobs ? ChatLogprobs(logprobs, tokenizer) : json();
  } else {
    choice["text"] = text;
    choice["logprobs"] = req.logprobs ? CompletionLogprobs(logprobs, tokenizer) : json();
  }
  choice["finish_reason"] = FinishReasonName(result.finish);
  j["choices"] = json::array({choice});
  j["usage"] = UsageJson(result);
  j["timings"] = TimingsJson(result);
  return j;
}

json CompletionChunk(const ParsedCompletion& req, const ResponseMeta& meta, const std::string& text,
                     const std::vector<TokenLogprobs>& logprobs, const CompletionResult* result,
                     const smallthinker::Tokenizer& tokenizer) {
  json j = Envelope(req, meta, true);
  json choice = {{"index", 0}};
  const bool lp = req.logprobs && !logprobs.empty();
  if (req.kind == ApiKind::kChat) {
    choice["delta"] = result && text.empty() ? json::object() : json{{"content", text}};
    choice["logprobs"] = lp ? ChatLogprobs(logprobs, tokenizer) : json();
  } else {
    choice["text"] = text;
    choice["logprobs"] = lp ? CompletionLogprobs(logprobs, tokenizer) : json();
  }
  choice["finish_reason"] = result ? json(FinishReasonName(result->finish)) : json();
  j["choices"] = json::array({choice});
  if (result) j["timings"] = TimingsJson(*result);
  return j;
}

json ChatRoleChunk(const ResponseMeta& meta) {
  return {{"id", meta.id},
          {"object", "chat.completion.chunk"},
          {"created", meta.created},
          {"model", meta.model},
          {"choices", json::array({{{"index", 0}, {"delta", {{"role", "assistant"}, {"content", ""}}}, {"logprobs", nullptr},
                                    {"finish_reason", nullptr}}})}};
}

json UsageChunk(const ParsedCompletion& req, const ResponseMeta& meta, const CompletionResult& result) {
  json j = Envelope(req, meta, true);
  j["choices"] = json::array();
  j["usage"] = UsageJson(result);
  return j;
}

ApiError ErrorOf(const CompletionResult& r) {
  const char* type = r.error_status == 503 ? "unavailable_error" : "server_error";
  return {r.error_status, r.error.empty() ? "the request failed" : r.error, type};
}

std::string NewResponseId(const char* prefix) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{}{:016x}{:08x}", prefix, rng(), static_cast<uint32_t>(rng()));
}

}  // namespace st
