// ChatSession: each turn keeps the cached tokens that still match the conversation's rendering and
// evaluates only the rest; what is kept plus what is evaluated always spells the full rendering.
#include "cli/chat_session.h"

#include <gtest/gtest.h>

#include "gen/model_generator.h"

namespace st {
namespace {

const Tokenizer& TinyTokenizer() {
  static const Tokenizer* tok = [] {
    auto t = Tokenizer::FromVocab(TinyVocab(512));
    if (!t.ok()) std::abort();
    return new Tokenizer(std::move(*t));
  }();
  return *tok;
}

ChatTemplate Template(const char* name) {
  auto t = ChatTemplate::FromNameOrText(name);
  if (!t.ok()) std::abort();
  return std::move(*t);
}

std::string Text(std::span<const int32_t> ids) { return TinyTokenizer().Decode(ids, /*render_special=*/true); }

// Plays a conversation: every turn's plan is "evaluated", the answer's tokens too (but not the
// end-of-generation token, which is sampled and never evaluated; `cut` drops one more, as a
// stop at -n does).
struct Conversation {
  explicit Conversation(const ChatTemplate& t) : tmpl(t), session(t, TinyTokenizer()) {}

  TurnPlan User(const std::string& text) {
    auto plan = session.AddUserTurn(text, evaluated);
    EXPECT_TRUE(plan.ok()) << plan.status().ToString();
    EXPECT_LE(plan->keep_tokens, evaluated.size());
    evaluated.resize(plan->keep_tokens);
    evaluated.insert(evaluated.end(), plan->tokens.begin(), plan->tokens.end());
    // Invariant: the cache now spells the whole rendering with the generation prompt.
    auto full = tmpl.Render(session.messages());
    EXPECT_EQ(Text(evaluated), *full);
    return *plan;
  }

  void Answer(const std::string& text, bool cut = false) {
    const std::vector<int32_t> ids = TinyTokenizer().Encode(text, false, false);
    evaluated.insert(evaluated.end(), ids.begin(), ids.end() - (cut ? 1 : 0));
    session.AddAssistantReply(Text(ids));
  }

  const ChatTemplate& tmpl;
  ChatSession session;
  std::vector<int32_t> evaluated;
};

TEST(ChatSessionTest, ChatMlKeepsTheWholeConversation) {
  const ChatTemplate t = Template("chatml");
  Conversation c(t);
  c.session.AddSystem("Be brief.");
  const TurnPlan first = c.User("Hello there");
  EXPECT_EQ(first.keep_tokens, 0u);
  c.Answer("Hi! How can I help?");
  const size_t cached = c.evaluated.size();
  const TurnPlan second = c.User("Tell me a story");
  EXPECT_EQ(second.keep_tokens, cached);
  EXPECT_EQ(Text(second.tokens), "<|im_end|>\n<|im_start|>user\nTell me a story<|im_end|>\n<|im_start|>assistant\n");
}

TEST(ChatSessionTest, AnAnswerCutShortIsCompletedFromItsText) {
  const ChatTemplate t = Template("chatml");
  Conversation c(t);
  c.User("Hello");
  c.Answer("Once upon a time there was", /*cut=*/true);
  const size_t cached = c.evaluated.size();
  const TurnPlan next = c.User("Go on");
  EXPECT_EQ(next.keep_tokens, cached);
  EXPECT_EQ(Text(next.tokens).rfind(" was<|im_end|>\n", 0), 0u) << Text(next.tokens);
}

TEST(ChatSessionTest, Qwen3RewindsWhenEarlierReasoningIsDropped) {
  const ChatTemplate t = Template("qwen3");
  Conversation c(t);
  c.User("What is 2+2?");
  c.Answer("<think>\nadd them\n</think>\n\nIt is 4.");
  const std::vector<int32_t> before = c.evaluated;
  const TurnPlan next = c.User("And 3+3?");
  // The earlier turn's reasoning is no longer rendered: the cache is kept up to the end of the
  // last turn both renderings share, the first user turn; its answer is evaluated again.
  EXPECT_EQ(Text(std::span(before).first(next.keep_tokens)), "<|im_start|>user\nWhat is 2+2?<|im_end|>\n");
  EXPECT_EQ(Text(next.tokens).rfind("<|im_start|>assistant\nIt is 4.<|im_end|>\n", 0), 0u) << Text(next.tokens);
}

TEST(ChatSessionTest, MatchingTokenPrefixStopsAtTheFirstDifference) {
  const Tokenizer& tok = TinyTokenizer();
  const std::vector<int32_t> ids = tok.Encode("<|im_start|>user\nhello", false, true);
  const std::string text = "<|im_start|>user\nhelp";
  size_t bytes = 0;
  const size_t k = MatchingTokenPrefix(tok, ids, text, text.size(), -1, &bytes);
  EXPECT_LT(k, ids.size());
  EXPECT_EQ(Text(std::span(ids).first(k)), text.substr(0, bytes));
  EXPECT_EQ(text.compare(0, bytes, Text(std::span(ids).first(k))), 0);
  // The limit caps what is kept.
  EXPECT_EQ(MatchingTokenPrefix(tok, ids, text, 0, -1, &bytes), 0u);
  EXPECT_EQ(bytes, 0u);
  // A BOS the rendering does not show is kept with what follows it.
  std::vector<int32_t> with_bos = {tok.bos()};
  with_bos.insert(with_bos.end(), ids.begin(), ids.end());
  EXPECT_EQ(MatchingTokenPrefix(tok, with_bos, text, text.size(), tok.bos(), &bytes), k + 1);
  EXPECT_EQ(MatchingTokenPrefix(tok, with_bos, "", 0, tok.bos(), &bytes), 0u);
}

}  // namespace
}  // namespace st

// ---- long conversations and chat commands ----

namespace st {
namespace {

// Dropping the oldest exchange keeps the system prompt and the current turn; the next plan spells
// exactly the remaining conversation (Conversation::User checks the cache against the rendering).
TEST(ChatSessionTest, DropOldestTurnKeepsTheSystemPromptAndTheCurrentTurn) {
  const ChatTemplate t = Template("chatml");
  Conversation c(t);
  c.session.AddSystem("Be brief.");
  c.User("first");
  c.Answer("one");
  c.User("second");
  c.Answer("two");
  auto plan = c.session.AddUserTurn("third", c.evaluated);
  ASSERT_TRUE(plan.ok());
  ASSERT_TRUE(c.session.DropOldestTurn());
  ASSERT_EQ(c.session.messages().size(), 4u);
  EXPECT_EQ(c.session.messages()[0].content, "Be brief.");
  EXPECT_EQ(c.session.messages()[1].content, "second");
  EXPECT_EQ(c.session.messages()[3].content, "third");
  auto again = c.session.Replan(c.evaluated);
  ASSERT_TRUE(again.ok());
  // The system prompt's tokens stay in the cache; everything after it is evaluated again.
  ChatRenderOptions no_prompt;
  no_prompt.add_generation_prompt = false;
  const std::string system_text = *t.Render(std::span(c.session.messages()).first(1), no_prompt);
  EXPECT_GT(again->keep_tokens, 0u);
  EXPECT_EQ(Text(std::span(c.evaluated).first(again->keep_tokens)), system_text);
  std::vector<int32_t> cache(c.evaluated.begin(), c.evaluated.begin() + static_cast<std::ptrdiff_t>(again->keep_tokens));
  cache.insert(cache.end(), again->tokens.begin(), again->tokens.end());
  EXPECT_EQ(Text(cache), *t.Render(c.session.messages()));
  EXPECT_TRUE(c.session.DropOldestTurn());   // "second" and its answer
  EXPECT_FALSE(c.session.DropOldestTurn());  // only the current turn is left
  ASSERT_EQ(c.session.messages().size(), 2u);
  EXPECT_EQ(c.session.messages()[1].content, "third");
  c.session.DropUnansweredTurn();
  EXPECT_EQ(c.session.messages().size(), 1u);
}

TEST(ChatSessionTest, ClearAndSetSystemStartNewConversations) {
  const ChatTemplate t = Template("chatml");
  Conversation c(t);
  c.session.AddSystem("S");
  c.User("hi");
  c.Answer("ho");
  c.session.Clear();
  ASSERT_EQ(c.session.messages().size(), 1u);
  EXPECT_EQ(c.session.messages()[0].role, "system");
  c.User("again");  // the plan still spells the whole (new) rendering from the old cache
  c.session.SetSystem("T");
  ASSERT_EQ(c.session.messages().size(), 1u);
  EXPECT_EQ(c.session.messages()[0].content, "T");
  c.session.SetSystem("");
  EXPECT_TRUE(c.session.messages().empty());
}

TEST(ChatSessionTest, SaveAndLoadRoundTrip) {
  const ChatTemplate t = Template("chatml");
  Conversation c(t);
  c.session.AddSystem("S \"quoted\"");
  c.User("héllo\nworld");
  c.Answer("ok");
  const std::string json = c.session.ToJson();
  ChatSession other(t, TinyTokenizer());
  ASSERT_TRUE(other.LoadJson(json).ok());
  ASSERT_EQ(other.messages().size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(other.messages()[i].role, c.session.messages()[i].role);
    EXPECT_EQ(other.messages()[i].content, c.session.messages()[i].content);
  }
  EXPECT_EQ(other.ToJson(), json);
  // The loaded conversation continues: the next plan spells it all.
  auto plan = other.AddUserTurn("next", {});
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(Text(plan->tokens), *t.Render(other.messages()));
}

TEST(ChatSessionTest, LoadRefusesMalformedConversationsAndKeepsTheCurrentOne) {
  const ChatTemplate t = Template("chatml");
  ChatSession s(t, TinyTokenizer());
  s.AddSystem("kept");
  const std::pair<const char*, const char*> cases[] = {
      {"{", "not valid JSON"},
      {"{\"role\": \"user\"}", "expected a JSON array"},
      {"[{\"role\": \"user\", \"content\": 3}]", "message 0: \"content\" must be a string, null or a list"},
      {"[3]", "message 0: expected an object"},
      {"[{\"role\": \"\", \"content\": \"x\"}]", "message 0: \"role\" must be a non-empty string"},
      {"[{\"role\": \"user\", \"content\": \"x\"}]", "message 0: the conversation ends with a user message"},
  };
  for (const auto& [text, want] : cases) {
    Status st = s.LoadJson(text);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << text;
    EXPECT_NE(st.message().find(want), std::string::npos) << text << " -> " << st.message();
    ASSERT_EQ(s.messages().size(), 1u);
    EXPECT_EQ(s.messages()[0].content, "kept");
  }
}

}  // namespace
}  // namespace st
