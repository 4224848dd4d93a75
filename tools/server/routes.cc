#include "server/routes.h"

#include <fmt/format.h>

#include <chrono>
#include <ctime>

#include "server/web_assets.h"
#include "smallthinker/context.h"

namespace st {
namespace {

using std::chrono::milliseconds;

void SendJson(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json; charset=utf-8");
}

void SendError(httplib::Response& res, const ApiError& e) { SendJson(res, e.status, ErrorBody(e)); }

// The route a path is counted under in /metrics.
std::string RouteOf(const std::string& path) {
  static const char* kRoutes[] = {"/health", "/v1/health", "/v1/models", "/models", "/v1/chat/completions",
                                  "/chat/completions", "/v1/completions", "/completions", "/tokenize", "/detokenize",
                                  "/apply-template", "/metrics", "/", "/app.js", "/app.css"};
  for (const char* r : kRoutes) {
    if (path == r) return r;
  }
  return "other";
}

bool IsPublic(const std::string& path) {
  return path == "/health" || path == "/v1/health" || path == "/" || path == "/app.js" || path == "/app.css";
}

// Compares without stopping at the first difference (the time does not tell how much of a key matched).
bool SameKey(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  return diff == 0;
}

// The JSON body, or an error naming what is wrong with it.
std::optional<ApiError> ParseBody(const httplib::Request& req, json* out) {
  try {
    *out = json::parse(req.body);
  } catch (const json::parse_error& e) {
    return ApiError{400, fmt::format("the body is not valid JSON: {}", e.what()), "invalid_request_error"};
  }
  return std::nullopt;
}

// The HTTP error for a request the engine would not take.
ApiError SubmitError(const Status& s) {
  switch (s.code()) {
    case StatusCode::kOutOfRange: return {400, s.message(), "exceed_context_size_error"};
    case StatusCode::kResourceExhausted: return {503, s.message(), "unavailable_error"};
    case StatusCode::kCancelled: return {503, s.message(), "unavailable_error"};
    default: return {400, s.message(), "invalid_request_error"};
  }
}

std::string SseEvent(const json& j) {
  return "data: " + j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
}

void HandleCompletion(ServerState& st, const httplib::Request& req, httplib::Response& res, ApiKind kind) {
  json body;
  if (auto e = ParseBody(req, &body)) return SendError(res, *e);
  ParsedCompletion parsed;
  const smallthinker::Tokenizer& tok = st.model->tokenizer();
  std::optional<ApiError> err =
      kind == ApiKind::kChat
          ? ParseChatRequest(body, st.defaults, st.chat_template ? &*st.chat_template : nullptr, st.template_error, tok,
                             &parsed)
          : ParseCompletionRequest(body, st.defaults, tok, &parsed);
  if (err) return SendError(res, *err);
  auto submitted = st.engine->Submit(parsed.params);
  if (!submitted.ok()) return SendError(res, SubmitError(submitted.status()));
  std::shared_ptr<Request> r = *submitted;
  ResponseMeta meta{NewResponseId(kind == ApiKind::kChat ? "chatcmpl-" : "cmpl-"), std::time(nullptr), st.model_name};

  if (!parsed.stream) {
    std::string text;
    std::vector<TokenLogprobs> logprobs;
    std::optional<CompletionResult> result;
    std::vector<CompletionEvent> events;
    while (!result && r->Wait(&events, milliseconds(200))) {
      for (CompletionEvent& ev : events) {
        text += ev.text;
        for (auto& lp : ev.logprobs) logprobs.push_back(std::move(lp));
        if (ev.final) result = ev.final;
      }
      events.clear();
    }
    if (!result || result->finish == FinishReason::kError || result->finish == FinishReason::kCancelled) {
      return SendError(res, result ? ErrorOf(*result) : ApiError{500, "the request ended without a result", "server_error"});
    }
    return SendJson(res, 200, CompletionResponse(parsed, meta, text, logprobs, *result, tok));
  }

  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  res.set_chunked_content_provider(
      "text/event-stream",
      [&st, r, parsed, meta](size_t, httplib::DataSink& sink) {
        const smallthinker::Tokenizer& tok = st.model->tokenizer();
        auto send = [&](const std::string& s) {
          if (sink.write(s.data(), s.size())) return true;
          r->Cancel();  // the client went away: free the slot at the next step
          return false;
        };
        if (parsed.kind == ApiKind::kChat && !send(SseEvent(ChatRoleChunk(meta)))) return false;
        std::vector<CompletionEvent> events;
        while (r->Wait(&events, milliseconds(200))) {
          for (CompletionEvent& ev : events) {
            const CompletionResult* final = ev.final ? &*ev.final : nullptr;
            if (final && (final->finish == FinishReason::kError || final->finish == FinishReason::kCancelled)) {
              send(SseEvent(ErrorBody(ErrorOf(*final))));
              sink.done();
              return true;
            }
            if (!ev.text.empty() || final || (parsed.logprobs && !ev.logprobs.empty())) {
              if (!send(SseEvent(CompletionChunk(parsed, meta, ev.text, ev.logprobs, final, tok)))) return false;
            }
            if (final) {
              if (parsed.include_usage && !send(SseEvent(UsageChunk(parsed, meta, *final)))) return false;
              if (!send("data: [DONE]\n\n")) return false;
              sink.done();
              return true;
            }
          }
          events.clear();
        }
        sink.done();
        return true;
      },
      [r](bool) { r->Cancel(); });  // however the response ended, nothing more is wanted
}

}  // namespace

void InstallRoutes(httplib::Server& http, ServerState& st) {
  http.set_pre_routing_handler([&st](const httplib::Request& req, httplib::Response& res) {
    if (!st.args->api_key.empty() && !IsPublic(req.path)) {
      const std::string auth = req.get_header_value("Authorization");
      const std::string prefix = "Bearer ";
      if (auth.rfind(prefix, 0) != 0 || !SameKey(auth.substr(prefix.size()), st.args->api_key)) {
        res.set_header("WWW-Authenticate", "Bearer");
        SendError(res, {401, "invalid or missing API key (send 'Authorization: Bearer KEY')", "authentication_error"});
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    const bool page = req.path == "/" || req.path == "/app.js" || req.path == "/app.css";
    if (!page && (!st.ready.load() || st.stopping.load())) {
      SendError(res, {503, st.stopping.load() ? "the server is shutting down" : "loading the model", "unavailable_error"});
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  http.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    const char* type = res.status == 404 ? "not_found_error" : res.status == 413 ? "invalid_request_error" : "server_error";
    std::string message = res.status == 404   ? fmt::format("no route {} {}", req.method, req.path)
                          : res.status == 413 ? "the request body is too large (see --max-body)"
                          : res.status == 405 ? fmt::format("method {} is not allowed on {}", req.method, req.path)
                                              : fmt::format("HTTP {}", res.status);
    SendError(res, {res.status, message, type});
    return httplib::Server::HandlerResponse::Handled;
  }));
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    SendError(res, {500, "internal error: " + what, "server_error"});
  });
  http.set_logger([&st](const httplib::Request& req, const httplib::Response& res) {
    st.http.Count(RouteOf(req.path), res.status);
    if (st.args->run.verbose || res.status >= 500) {
      std::fprintf(stderr, "%s %s %d\n", req.method.c_str(), RouteOf(req.path).c_str(), res.status);
    }
  });

  auto health = [&st](const httplib::Request&, httplib::Response& res) {
    const EngineStats e = st.engine->Stats();
    SendJson(res, 200, {{"status", "ok"}, {"slots_idle", e.slots_total - e.slots_busy}, {"slots_processing", e.slots_busy}});
  };
  http.Get("/health", health);
  http.Get("/v1/health", health);
  auto models = [&st](const httplib::Request&, httplib::Response& res) {
    const smallthinker::ModelInfo& info = st.model->info();
    json meta = {{"n_vocab", info.n_vocab}, {"n_ctx_train", info.n_ctx_train}, {"n_ctx", st.engine->n_ctx()},
                 {"n_embd", info.n_embd}, {"n_params_experts", info.n_expert}, {"size", info.file_bytes}};
    SendJson(res, 200,
             {{"object", "list"},
              {"data", json::array({{{"id", st.model_name}, {"object", "model"}, {"created", st.started},
                                     {"owned_by", "smallthinker.cpp"}, {"meta", meta}}})}});
  };
  http.Get("/v1/models", models);
  http.Get("/models", models);
  for (const char* path : {"/v1/chat/completions", "/chat/completions"}) {
    http.Post(path, [&st](const httplib::Request& req, httplib::Response& res) {
      HandleCompletion(st, req, res, ApiKind::kChat);
    });
  }
  for (const char* path : {"/v1/completions", "/completions"}) {
    http.Post(path, [&st](const httplib::Request& req, httplib::Response& res) {
      HandleCompletion(st, req, res, ApiKind::kCompletion);
    });
  }
  http.Post("/tokenize", [&st](const httplib::Request& req, httplib::Response& res) {
    json b;
    if (auto e = ParseBody(req, &b)) return SendError(res, *e);
    if (!b.is_object() || !b.contains("content") || !b["content"].is_string()) {
      return SendError(res, {400, "'content' must be a string", "invalid_request_error"});
    }
    bool add_special = false, parse_special = true, with_pieces = false;
    for (auto [key, out] : {std::pair{"add_special", &add_special}, std::pair{"parse_special", &parse_special},
                            std::pair{"with_pieces", &with_pieces}}) {
      if (!b.contains(key)) continue;
      if (!b[key].is_boolean()) return SendError(res, {400, fmt::format("'{}' must be a boolean", key), "invalid_request_error"});
      *out = b[key].get<bool>();
    }
    const smallthinker::Tokenizer& tok = st.model->tokenizer();
    const std::vector<int32_t> ids =
        tok.Encode(b["content"].get<std::string>(), add_special && tok.add_bos(), parse_special);
    json tokens = json::array();
    for (int32_t id : ids) {
      if (!with_pieces) {
        tokens.push_back(id);
        continue;
      }
      const std::string& piece = tok.TokenToPiece(id, true);
      json p = piece;  // a piece that is not valid UTF-8 is sent as its bytes
      try {
        (void)p.dump();
      } catch (const json::type_error&) {
        p = json::array();
        for (unsigned char c : piece) p.push_back(static_cast<int>(c));
      }
      tokens.push_back({{"id", id}, {"piece", p}});
    }
    SendJson(res, 200, {{"tokens", tokens}});
  });
  http.Post("/detokenize", [&st](const httplib::Request& req, httplib::Response& res) {
    json b;
    if (auto e = ParseBody(req, &b)) return SendError(res, *e);
    if (!b.is_object() || !b.contains("tokens") || !b["tokens"].is_array()) {
      return SendError(res, {400, "'tokens' must be an array of token ids", "invalid_request_error"});
    }
    const smallthinker::Tokenizer& tok = st.model->tokenizer();
    std::vector<int32_t> ids;
    for (size_t i = 0; i < b["tokens"].size(); ++i) {
      const json& t = b["tokens"][i];
      if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() >= tok.n_vocab()) {
        return SendError(res, {400, fmt::format("'tokens'[{}] must be a token id in [0, {})", i, tok.n_vocab()),
                               "invalid_request_error"});
      }
      ids.push_back(t.get<int32_t>());
    }
    SendJson(res, 200, {{"content", tok.Decode(ids, true)}});
  });
  http.Post("/apply-template", [&st](const httplib::Request& req, httplib::Response& res) {
    json b;
    if (auto e = ParseBody(req, &b)) return SendError(res, *e);
    if (!b.is_object()) return SendError(res, {400, "the request body must be a JSON object", "invalid_request_error"});
    std::vector<ChatMessage> messages;
    ChatRenderOptions options;
    if (auto e = ParseMessages(b, &messages)) return SendError(res, *e);
    if (auto e = ParseRenderOptions(b, &options)) return SendError(res, *e);
    if (!st.chat_template) return SendError(res, {500, "no usable chat template: " + st.template_error, "server_error"});
    auto text = st.chat_template->Render(messages, options);
    if (!text.ok()) return SendError(res, {400, "chat template: " + text.status().message(), "invalid_request_error"});
    SendJson(res, 200, {{"prompt", *text}});
  });
  http.Get("/metrics", [&st](const httplib::Request&, httplib::Response& res) {
    res.set_content(PrometheusText(st.engine->Stats(), st.http, smallthinker::PeakRssBytes()),
                    "text/plain; version=0.0.4; charset=utf-8");
  });
  if (!st.args->no_webui) {
    // The page runs only its own scripts and talks only to this origin.
    auto page = [](const char* content, const char* type) {
      return [content, type](const httplib::Request&, httplib::Response& res) {
        res.set_header("Content-Security-Policy",
                       "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
                       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
        res.set_header("X-Content-Type-Options", "nosniff");
        res.set_header("Cache-Control", "no-cache");
        res.set_content(content, type);
      };
    };
    http.Get("/", page(kWebIndexHtml, "text/html; charset=utf-8"));
    http.Get("/app.js", page(kWebAppJs, "text/javascript; charset=utf-8"));
    http.Get("/app.css", page(kWebAppCss, "text/css; charset=utf-8"));
  }
}

}  // namespace st
