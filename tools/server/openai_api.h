// The OpenAI API's request and response shapes (and llama-server's extensions), as JSON.
//
// Parsing turns a /v1/chat/completions or /v1/completions body into CompletionParams (the chat
// messages rendered through the chat template and tokenized), checking every field it reads: a
// wrong type, a value out of range, an unknown role or an unsupported feature is an ApiError (HTTP
// 400) that names the field. Unknown fields are ignored, as OpenAI clients send extras.
//
// Building turns the engine's events into chat.completion / text_completion objects and their
// streamed chunks.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "server/request.h"
#include "smallthinker/model.h"
#include "smallthinker/sampler.h"
#include "text/chat_template.h"

namespace st {

using json = nlohmann::ordered_json;

struct ApiError {
  int status = 400;
  std::string message;
  std::string type = "invalid_request_error";
};

// {"error": {"message", "type", "code"}} (code: the HTTP status, as llama-server).
json ErrorBody(const ApiError& e);

enum class ApiKind { kChat, kCompletion };

// What the server fills in when a request leaves it out (the server's flags).
struct RequestDefaults {
  SamplerParams sampling;
  int32_t n_predict = -1;
};

struct ParsedCompletion {
  ApiKind kind = ApiKind::kChat;
  CompletionParams params;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage: a last chunk with the usage
  bool logprobs = false;       // return log-probabilities (params.n_probs alternatives each)
};

// The body of POST /v1/chat/completions. `tmpl` is the server's chat template (nullptr: none
// usable, a 500 naming template_error).
std::optional<ApiError> ParseChatRequest(const json& body, const RequestDefaults& defaults,
                                         const ChatTemplate* tmpl, const std::string& template_error,
                                         const smallthinker::Tokenizer& tokenizer, ParsedCompletion* out);
// The body of POST /v1/completions: `prompt` is a string or an array of token ids.
std::optional<ApiError> ParseCompletionRequest(const json& body, const RequestDefaults& defaults,
                                               const smallthinker::Tokenizer& tokenizer, ParsedCompletion* out);
// `messages` of a chat body (also /apply-template): roles system, developer (as system), user,
// assistant, tool; content a string, null, or an array of {"type": "text", "text"} parts.
std::optional<ApiError> ParseMessages(const json& body, std::vector<ChatMessage>* out);
// chat_template_kwargs.enable_thinking (llama-server), when given.
std::optional<ApiError> ParseRenderOptions(const json& body, ChatRenderOptions* out);

// Everything a response needs besides the events.
struct ResponseMeta {
  std::string id;       // "chatcmpl-..." / "cmpl-..."
  int64_t created = 0;  // unix seconds
  std::string model;
};

// The whole non-streamed answer.
json CompletionResponse(const ParsedCompletion& req, const ResponseMeta& meta, const std::string& text,
                        const std::vector<TokenLogprobs>& logprobs, const CompletionResult& result,
                        const smallthinker::Tokenizer& tokenizer);
// One streamed chunk: text (and its tokens' logprobs), or with `result` the last one (finish_reason).
json CompletionChunk(const ParsedCompletion& req, const ResponseMeta& meta, const std::string& text,
                     const std::vector<TokenLogprobs>& logprobs, const CompletionResult* result,
                     const smallthinker::Tokenizer& tokenizer);
// The chat stream's first chunk: {"delta": {"role": "assistant", "content": ""}}.
json ChatRoleChunk(const ResponseMeta& meta);
// stream_options.include_usage's last chunk: no choices, the usage.
json UsageChunk(const ParsedCompletion& req, const ResponseMeta& meta, const CompletionResult& result);
json UsageJson(const CompletionResult& result);
// llama-server's "timings" object.
json TimingsJson(const CompletionResult& result);

// The HTTP status and error of a failed request (CompletionResult kError).
ApiError ErrorOf(const CompletionResult& result);

// A fresh response id with `prefix` ("chatcmpl-").
std::string NewResponseId(const char* prefix);

}  // namespace st
