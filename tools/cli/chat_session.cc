#include "cli/chat_session.h"

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

Result<TurnPlan> ChatSession::AddUserTurn(std::string content, std::span<const int32_t> evaluated) {
  messages_.push_back({"user", std::move(content), std::nullopt});
  auto delta = template_.RenderDelta(messages_, cached_messages_, options_);
  if (!delta.ok()) {
    messages_.pop_back();
    return delta.status();
  }
  ChatRenderOptions old_options = options_;
  old_options.add_generation_prompt = false;
  auto old_text = template_.Render(std::span(messages_).first(cached_messages_), old_options);
  if (!old_text.ok()) {
    messages_.pop_back();
    return old_text.status();
  }
  const std::string text = old_text->substr(0, delta->keep_bytes) + delta->text;
  const int32_t bos = tokenizer_.add_bos() ? tokenizer_.bos() : -1;
  size_t kept_bytes = 0;
  TurnPlan plan;
  plan.keep_tokens = MatchingTokenPrefix(tokenizer_, evaluated, text, delta->keep_bytes, bos, &kept_bytes);
  const bool add_bos = plan.keep_tokens == 0 && tokenizer_.add_bos();
  plan.tokens = tokenizer_.Encode(std::string_view(text).substr(kept_bytes), add_bos, /*parse_special=*/true);
  return plan;
}

void ChatSession::AddAssistantReply(std::string content) {
  messages_.push_back({"assistant", std::move(content), std::nullopt});
  cached_messages_ = messages_.size();
}

}  // namespace st
