// ChatSession: a conversation's messages and what to evaluate for each new turn, reusing the KV
// cache of the turns before.
//
// The cache holds the tokens evaluated so far: the earlier prompts and the answers' tokens (an
// answer's last token, the end-of-generation token, is sampled but not evaluated). For a new user
// turn, ChatTemplate::RenderDelta says how many bytes of the earlier rendering stay valid
// (keep_bytes); PlanTurn keeps the longest prefix of the evaluated tokens whose text matches the
// new rendering byte for byte within those bytes, and tokenizes the rest of the rendering from
// there. For ChatML that keeps the whole conversation and evaluates "<|im_end|>\n" (the end of the
// previous answer) plus the new turn; Qwen3's templates, which drop earlier reasoning, rewind.
//
// Not thread-safe. Borrows the template and tokenizer.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "smallthinker/status.h"
#include "text/chat_template.h"
#include "text/tokenizer.h"

namespace st {

struct TurnPlan {
  size_t keep_tokens = 0;       // evaluated tokens that stay in the cache
  std::vector<int32_t> tokens;  // to evaluate from position keep_tokens
  size_t total_tokens() const { return keep_tokens + tokens.size(); }
};

class ChatSession {
 public:
  ChatSession(const ChatTemplate& tmpl, const Tokenizer& tokenizer, ChatRenderOptions options = {})
      : template_(tmpl), tokenizer_(tokenizer), options_(options) {}

  void AddSystem(std::string content) { messages_.push_back({"system", std::move(content), std::nullopt}); }

  // Adds a user message and plans the evaluation of the new prompt (the generation prompt
  // included), given the tokens the cache holds now. Errors: the template's (InvalidArgument).
  Result<TurnPlan> AddUserTurn(std::string content, std::span<const int32_t> evaluated);

  // Plans the current conversation again (its last message a user turn), e.g. after DropOldestTurn.
  Result<TurnPlan> Replan(std::span<const int32_t> evaluated);

  // Long conversations: removes the oldest exchange after the leading system messages (a user
  // message and the answer to it), never the last user turn. The rendering then changes from the
  // first dropped byte on, so the next plan re-evaluates the conversation after the system prompt
  // (exactly: the cache keeps only what still matches). False when there is nothing to drop.
  bool DropOldestTurn();

  // Removes the last message if it is a user turn that was not answered (a refused turn).
  void DropUnansweredTurn();

  // A new conversation that keeps the leading system messages (/clear), or that starts with
  // `system` as its only system message ("" = none; /system).
  void Clear();
  void SetSystem(std::string system);

  // The conversation as JSON messages ([{"role": ..., "content": ...}], /save) and back (/load).
  // Load errors (InvalidArgument, naming the message): not an array, a role other than system,
  // user or assistant, content not a string, or a last message from the user (nothing answered it).
  std::string ToJson() const;
  Status LoadJson(const std::string& text);

  // Records the answer to the last user turn (its text as the model generated it, end-of-generation
  // token excluded). The rendering of the conversation so far is then what the cache holds.
  void AddAssistantReply(std::string content);

  const std::vector<ChatMessage>& messages() const { return messages_; }

 private:
  const ChatTemplate& template_;
  const Tokenizer& tokenizer_;
  ChatRenderOptions options_;
  std::vector<ChatMessage> messages_;
  size_t cached_messages_ = 0;  // messages whose rendering the cache holds (up to the last answer)
};

// JSON messages ([{"role": "system"|"user"|"assistant"|"tool"|..., "content": "...",
// "reasoning_content"?, "tool_calls"?, ...}]; see ChatMessage::FromJson), as /save writes and
// --render-chat and /load read. Errors (InvalidArgument) name the message.
Result<std::vector<ChatMessage>> ParseChatMessages(const std::string& text);
Result<std::vector<ChatMessage>> ParseChatMessages(const nlohmann::ordered_json& messages);

// The longest prefix of `evaluated` whose pieces (control tokens as text) equal text[0, limit)'s
// beginning, as a token count; *bytes gets their text length. A leading BOS, which the rendering
// does not show, matches zero bytes when skip_bos >= 0 is its id.
size_t MatchingTokenPrefix(const Tokenizer& tokenizer, std::span<const int32_t> evaluated, std::string_view text,
                           size_t limit, int32_t skip_bos, size_t* bytes);

}  // namespace st
