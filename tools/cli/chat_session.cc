#include "cli/chat_session.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>

namespace st {

size_t MatchingTokenPrefix(const Tokenizer& tokenizer, std::span<const int32_t> evaluated, std::string_view text,
                           size_t limit, int32_t skip_bos, size_t* bytes) {
  limit = std::min(limit, text.size());
  size_t k = 0, off = 0;
  if (skip_bos >= 0 && !evaluated.empty() && evaluated[0] == skip_bos) k = 1;
  for (; k < evaluated.size(); ++k) {
    const std::string& piece = tokenizer.TokenToPiece(evaluated[k], /*render_special=*/true);
    if (piece.empty() || off + piece.size() > limit || text.compare(off, piece.size(), piece) != 0) break;
    off += piece.size();
  }
  // A lone BOS matched nothing: keep it only if something follows it.
  if (off == 0) k = 0;
  *bytes = off;
  return k;
}

namespace {
size_t LeadingSystemMessages(const std::vector<ChatMessage>& m) {
  size_t n = 0;
  while (n < m.size() && m[n].role == "system") ++n;
  return n;
}
}  // namespace

Result<TurnPlan> ChatSession::AddUserTurn(std::string content, std::span<const int32_t> evaluated) {
  messages_.push_back({"user", std::move(content), std::nullopt});
  return Replan(evaluated);
}

Result<TurnPlan> ChatSession::Replan(std::span<const int32_t> evaluated) {
  auto delta = template_.RenderDelta(messages_, cached_messages_, options_);
  if (!delta.ok()) {
    messages_.pop_back();
    return delta.status();
  }
  ChatRenderOptions old_options = options_;
  old_options.add_generation_prompt = false;
  // keep_bytes > 0 only when the old rendering succeeded (see RenderDelta).
  auto old_text = delta->keep_bytes == 0 ? Result<std::string>(std::string())
                                         : template_.Render(std::span(messages_).first(cached_messages_), old_options);
  if (!old_text.ok()) {
    messages_.pop_back();
    return old_text.status();
  }
  const std::string text = old_text->substr(0, delta->keep_bytes) + delta->text;
  size_t limit = delta->keep_bytes;
  // A conversation started again after its system prompt (/clear, a context drop): the system
  // messages' own rendering, where the new one begins with it, is still what the cache holds.
  if (cached_messages_ == 0) {
    const size_t n_system = LeadingSystemMessages(messages_);
    if (n_system > 0 && n_system < messages_.size()) {
      auto system_text = template_.Render(std::span(messages_).first(n_system), old_options);
      if (system_text.ok() && text.compare(0, system_text->size(), *system_text) == 0) limit = system_text->size();
    }
  }
  // The BOS the encoder puts first (none when the template wrote it: it is then part of `text`).
  const bool encoder_bos = tokenizer_.AddBosFor(text);
  const int32_t bos = encoder_bos ? tokenizer_.bos() : -1;
  size_t kept_bytes = 0;
  TurnPlan plan;
  plan.keep_tokens = MatchingTokenPrefix(tokenizer_, evaluated, text, limit, bos, &kept_bytes);
  const bool add_bos = plan.keep_tokens == 0 && encoder_bos;
  plan.tokens = tokenizer_.Encode(std::string_view(text).substr(kept_bytes), add_bos, /*parse_special=*/true);
  return plan;
}

void ChatSession::AddAssistantReply(std::string content) {
  messages_.push_back({"assistant", std::move(content), std::nullopt});
  cached_messages_ = messages_.size();
}

bool ChatSession::DropOldestTurn() {
  const size_t first = LeadingSystemMessages(messages_);
  // The exchange: messages from `first` up to the next user message (exclusive).
  size_t end = first + 1;
  while (end < messages_.size() && messages_[end].role != "user") ++end;
  if (end >= messages_.size()) return false;  // only the current turn is left
  messages_.erase(messages_.begin() + static_cast<std::ptrdiff_t>(first),
                  messages_.begin() + static_cast<std::ptrdiff_t>(end));
  cached_messages_ = 0;  // the rendering changed after the system prompt
  return true;
}

void ChatSession::DropUnansweredTurn() {
  if (!messages_.empty() && messages_.back().role == "user") messages_.pop_back();
}

void ChatSession::Clear() {
  messages_.resize(LeadingSystemMessages(messages_));
  cached_messages_ = 0;
}

void ChatSession::SetSystem(std::string system) {
  messages_.clear();
  if (!system.empty()) AddSystem(std::move(system));
  cached_messages_ = 0;
}

std::string ChatSession::ToJson() const {
  nlohmann::ordered_json j = nlohmann::ordered_json::array();
  for (const ChatMessage& m : messages_) j.push_back(m.ToJson());
  // Invalid UTF-8 (a cut answer) is replaced rather than refused: the file must still be written.
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

Result<std::vector<ChatMessage>> ParseChatMessages(const std::string& text) {
  const nlohmann::ordered_json j = nlohmann::ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgument("not valid JSON");
  return ParseChatMessages(j);
}

Result<std::vector<ChatMessage>> ParseChatMessages(const nlohmann::ordered_json& j) {
  if (!j.is_array()) return InvalidArgument("expected a JSON array of messages ({\"role\": ..., \"content\": ...})");
  std::vector<ChatMessage> loaded;
  for (size_t i = 0; i < j.size(); ++i) {
    auto m = ChatMessage::FromJson(j[i]);
    if (!m.ok()) return InvalidArgument(fmt::format("message {}: {}", i, m.status().message()));
    loaded.push_back(std::move(*m));
  }
  return loaded;
}

Status ChatSession::LoadJson(const std::string& text) {
  ST_ASSIGN_OR_RETURN(std::vector<ChatMessage> loaded, ParseChatMessages(text));
  if (!loaded.empty() && loaded.back().role == "user") {
    return InvalidArgument(fmt::format("message {}: the conversation ends with a user message nobody answered",
                                       loaded.size() - 1));
  }
  messages_ = std::move(loaded);
  cached_messages_ = 0;
  return Status::Ok();
}

}  // namespace st
