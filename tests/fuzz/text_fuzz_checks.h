// The checks behind the text fuzzers (batch_line_fuzz, tokenizer_fuzz, chat_template_fuzz,
// server_request_fuzz): each takes one input's bytes and returns "" when every property holds, else
// what broke. Shared, like fuzz_pipeline.h, by the libFuzzer targets (clang, tests/fuzz/CMakeLists.txt)
// and by text_fuzz_replay_unittest.cc (the main g++ build), which replays the committed seeds and
// regressions so CI runs the same logic without clang. Header-only: a target that calls one check
// links only that check's sources (inline functions nobody calls are never emitted).
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/batch_input.h"
#include "server/openai_api.h"
#include "smallthinker/model.h"
#include "text/chat_template.h"
#include "text/tokenizer.h"

namespace st::fuzz {

inline std::string_view AsText(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// ---- batch lines (tools/cli/batch_input.h) ----

inline std::string CheckBatchLine(const uint8_t* data, size_t size) {
  const std::string_view line = AsText(data, size);
  (void)IsBlankBatchLine(line);
  const BatchRequest r = ParseBatchLine(line, 7);
  if (r.line != 7) return "line number not kept";
  if (!r.error.empty()) return "";  // a bad line: any message will do (it is non-empty)
  if (!r.prompt && r.messages.empty()) return "a good line with neither a prompt nor messages";
  if (r.prompt && r.prompt->empty()) return "a good line with an empty prompt";
  for (const ChatMessage& m : r.messages) {
    if (m.role.empty()) return "a good line with a message without a role";
  }
  if (r.n_predict && *r.n_predict < -1) return fmt::format("n_predict {} < -1", *r.n_predict);
  // The count must be the number the line says, not a wrapped one (e.g. 2^64-1 read as -1).
  if (r.n_predict) {
    const auto j = nlohmann::ordered_json::parse(line, nullptr, /*allow_exceptions=*/false);
    const auto it = j.is_object() ? (j.contains("n_predict") ? j.find("n_predict") : j.find("max_tokens")) : j.end();
    if (it == j.end()) return "n_predict set but the line has no count";
    const bool same = it->is_number_unsigned() ? *r.n_predict >= 0 && it->get<uint64_t>() == uint64_t(*r.n_predict)
                                               : it->get<int64_t>() == *r.n_predict;
    if (!same) return fmt::format("n_predict {} is not the line's {}", *r.n_predict, it->dump());
  }
  return "";
}

// ---- tokenizer (src/text/tokenizer.h) ----

inline std::string CheckIds(const Tokenizer& tok, const std::vector<int32_t>& ids) {
  for (int32_t id : ids) {
    if (id < 0 || id >= tok.n_vocab()) return fmt::format("id {} outside [0, {})", id, tok.n_vocab());
  }
  return "";
}

// Decode(Encode(s)) == s for every byte string (tokenizer.h promises it for invalid UTF-8 too),
// with parse_special off; with it on, control tokens come back as their text when rendered.
inline std::string CheckTokenizer(const Tokenizer& tok, const uint8_t* data, size_t size) {
  const std::string_view text = AsText(data, size);
  for (bool parse_special : {false, true}) {
    const std::vector<int32_t> ids = tok.Encode(text, /*add_bos=*/false, parse_special);
    if (std::string e = CheckIds(tok, ids); !e.empty()) return e;
    if (!text.empty() && ids.empty()) return "non-empty text gave no ids";
    const std::string back = tok.Decode(ids, /*render_special=*/true);
    if (back != text) {
      return fmt::format("round trip (parse_special {}) changed {} bytes into {}", parse_special, text.size(),
                         back.size());
    }
  }
  return "";
}

// ---- chat templates (src/text/chat_template.h) ----

// Reads the fuzzer's bytes as small choices; past the end every read gives 0.
class ByteReader {
 public:
  ByteReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  uint8_t Byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  std::string Bytes(size_t n) {
    n = std::min(n, size_ - std::min(pos_, size_));
    std::string s(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return s;
  }
  std::string Rest() { return Bytes(size_); }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

// Every prefix of `messages` as the cached conversation: the delta must rebuild Render() exactly
// from a prefix of the old rendering, cut at a turn boundary or kept whole.
inline std::string CheckDeltas(const ChatTemplate& t, const std::vector<ChatMessage>& messages,
                               const ChatRenderOptions& options) {
  const auto full = t.Render(messages, options);
  for (size_t old = 0; old <= messages.size(); ++old) {
    const auto d = t.RenderDelta(messages, old, options);
    if (d.ok() != full.ok()) return fmt::format("RenderDelta(old {}) ok {} but Render ok {}", old, d.ok(), full.ok());
    if (!full.ok()) continue;
    ChatRenderOptions old_options = options;
    old_options.add_generation_prompt = false;
    const auto prev = t.Render(std::span(messages).first(old), old_options);
    if (!prev.ok()) {  // a template may refuse a prefix of the conversation: then nothing is kept
      if (d->keep_bytes != 0 || d->text != *full) return "the old messages fail to render, yet keep_bytes > 0";
      continue;
    }
    if (d->keep_bytes > prev->size()) return fmt::format("keep_bytes {} > old size {}", d->keep_bytes, prev->size());
    if (prev->substr(0, d->keep_bytes) + d->text != *full) return fmt::format("old[0, keep) + text != Render (old {})", old);
    const std::string_view kept = std::string_view(*prev).substr(0, d->keep_bytes);
    // The built-ins are ChatML: they part only at the end of a turn (a file's template may part anywhere).
    if (t.name() != "jinja" && d->keep_bytes != prev->size() && !kept.empty() && !kept.ends_with("<|im_end|>\n")) {
      return "keep_bytes is neither the whole old text nor the end of a turn";
    }
    // Plain ChatML renders every message on its own: the old text is always kept whole.
    if (t.name() == "chatml" && d->keep_bytes != prev->size()) return "chatml dropped part of the old text";
  }
  return "";
}

// Byte 0 picks the mode. High bit set: the rest is template text for FromText (and, if accepted,
// renders a fixed conversation). Else a built-in template and a message list from the rest:
// per message a role byte, a length byte and that many content bytes (the dictionary supplies
// control tokens and <think> blocks), and sometimes a reasoning_content.
inline std::string CheckChatTemplate(const uint8_t* data, size_t size) {
  ByteReader in(data, size);
  const uint8_t mode = in.Byte();
  if (mode & 0x80) {
    const auto t = ChatTemplate::FromText(in.Rest());
    if (!t.ok()) return t.status().message().empty() ? "FromText error without a message" : "";
    const std::vector<ChatMessage> conv = {{"system", "s", std::nullopt}, {"user", "u", std::nullopt},
                                           {"assistant", "<think>r</think>a", std::nullopt}, {"tool", "t", std::nullopt},
                                           {"user", "v", std::nullopt}};
    return CheckDeltas(*t, conv, {});
  }
  static const std::vector<std::string> kNames = ChatTemplate::BuiltinNames();
  const auto t = ChatTemplate::FromNameOrText(kNames[mode % kNames.size()]);
  if (!t.ok()) return "a built-in template fails: " + t.status().message();
  ChatRenderOptions options;
  options.add_generation_prompt = (mode & 0x10) != 0;
  if (mode & 0x20) options.enable_thinking = (mode & 0x40) != 0;
  static const char* kRoles[] = {"system", "user", "assistant", "tool", "", "developer", "user", "assistant"};
  std::vector<ChatMessage> messages;
  while (!in.empty() && messages.size() < 12) {
    const uint8_t r = in.Byte();
    ChatMessage m{kRoles[r & 7], in.Bytes(in.Byte() & 0x3f), std::nullopt};
    if (r & 0x08) m.reasoning_content = in.Bytes(in.Byte() & 0x1f);
    messages.push_back(std::move(m));
  }
  return CheckDeltas(*t, messages, options);
}

// ---- the server's request parser (tools/server/openai_api.h) ----

inline std::string CheckApiError(const std::optional<ApiError>& e, const char* what) {
  if (!e) return "";
  if (e->status < 400 || e->status > 599) return fmt::format("{}: status {}", what, e->status);
  if (e->message.empty()) return fmt::format("{}: an error without a message", what);
  (void)ErrorBody(*e).dump();  // the server sends it: must serialize (throws on invalid UTF-8)
  return "";
}

inline std::string CheckParsed(const ParsedCompletion& p, const smallthinker::Tokenizer& tok, const char* what) {
  if (p.params.prompt.empty()) return fmt::format("{}: accepted with an empty prompt", what);
  for (int32_t id : p.params.prompt) {
    if (id < 0 || id >= tok.n_vocab()) return fmt::format("{}: prompt id {} out of range", what, id);
  }
  if (p.params.max_tokens < -1) return fmt::format("{}: max_tokens {}", what, p.params.max_tokens);
  if (p.params.n_probs < 0 || p.params.n_probs > 20) return fmt::format("{}: n_probs {}", what, p.params.n_probs);
  return "";
}

// The bytes as a JSON body (not JSON: nothing to parse, as the server answers 400 before this).
// Every parser must return normally: an error is a 4xx/5xx with a message; a success a usable prompt.
inline std::string CheckServerRequest(const smallthinker::Tokenizer& tok, const uint8_t* data, size_t size) {
  const json body = json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return "";
  static const auto chatml = ChatTemplate::FromNameOrText("chatml");
  static const auto qwen3 = ChatTemplate::FromNameOrText("qwen3");
  const RequestDefaults defaults;
  try {
    for (const ChatTemplate* t : {&*chatml, &*qwen3, static_cast<const ChatTemplate*>(nullptr)}) {
      ParsedCompletion chat;
      const auto e = ParseChatRequest(body, defaults, t, "no template", tok, &chat);
      if (std::string s = CheckApiError(e, "chat"); !s.empty()) return s;
      if (!e) {
        if (!t) return "chat: accepted without a template";
        if (std::string s = CheckParsed(chat, tok, "chat"); !s.empty()) return s;
      }
    }
    ParsedCompletion completion;
    const auto e = ParseCompletionRequest(body, defaults, tok, &completion);
    if (std::string s = CheckApiError(e, "completion"); !s.empty()) return s;
    if (!e) {
      if (std::string s = CheckParsed(completion, tok, "completion"); !s.empty()) return s;
    }
    std::vector<ChatMessage> messages;
    const auto me = ParseMessages(body, &messages);
    if (std::string s = CheckApiError(me, "messages"); !s.empty()) return s;
    if (!me && messages.empty()) return "messages: accepted an empty list";
    ChatRenderOptions options;
    if (std::string s = CheckApiError(ParseRenderOptions(body, &options), "render options"); !s.empty()) return s;
  } catch (const std::exception& ex) {
    return std::string("an exception escaped: ") + ex.what();
  }
  return "";
}

}  // namespace st::fuzz
