// The HTTP endpoints of smallthinker-server, on a cpp-httplib Server:
//   GET  /health                      200 {"status":"ok"} when ready, 503 while loading
//   GET  /v1/models (/models)         the one model
//   POST /v1/chat/completions         OpenAI chat (also /chat/completions), streaming as SSE
//   POST /v1/completions              OpenAI legacy completions (also /completions)
//   POST /tokenize, /detokenize, /apply-template   llama-server's shapes
//   GET  /metrics                     Prometheus text
//   GET  /, /app.js, /app.css         the web chat page (unless --no-webui)
// Errors are {"error": {"message", "type", "code"}} with the HTTP status as code. With an API key,
// every route but /health and the page's files needs "Authorization: Bearer KEY" (401 otherwise).
#pragma once

#include <httplib.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "server/engine.h"
#include "server/metrics.h"
#include "server/openai_api.h"
#include "server/server_args.h"
#include "smallthinker/model.h"
#include "text/chat_template.h"

namespace st {

// What the handlers share. Filled in by main as the model loads; `ready` says when it is.
struct ServerState {
  const ServerArgs* args = nullptr;
  std::atomic<bool> ready{false};
  std::atomic<bool> stopping{false};
  const smallthinker::Model* model = nullptr;
  Engine* engine = nullptr;
  std::optional<ChatTemplate> chat_template;
  std::string template_error;  // why chat_template is empty
  RequestDefaults defaults;
  std::string model_name;
  int64_t started = 0;  // unix seconds
  HttpCounters http;
};

void InstallRoutes(httplib::Server& http, ServerState& state);

}  // namespace st
