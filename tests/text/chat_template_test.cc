// ChatTemplate against renderings of the real templates. The expected strings were rendered by
// Jinja2 3.1 the way transformers' apply_chat_template does (sandboxed environment, trim_blocks,
// lstrip_blocks) from ../shared/data/tokenizer/qwen3/tokenizer_config.json; regenerate them with
// env.from_string(cfg["chat_template"]).render(messages=..., add_generation_prompt=...).
#include "text/chat_template.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_util.h"

namespace st {
namespace {

using ::st::testing::ReadFileOrDie;
using ::st::testing::SharedDir;

std::string Qwen3TemplateText() {
  const auto cfg = nlohmann::json::parse(ReadFileOrDie(SharedDir() + "/data/tokenizer/qwen3/tokenizer_config.json"));
  return cfg["chat_template"].get<std::string>();
}

std::string RenderOrDie(const ChatTemplate& t, const std::vector<ChatMessage>& m, ChatRenderOptions o = {}) {
  auto r = t.Render(m, o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : "";
}

ChatRenderOptions NoPrompt() {
  ChatRenderOptions o;
  o.add_generation_prompt = false;
  return o;
}

const std::vector<ChatMessage> kPlain = {
    {"system", "You are a helpful assistant.", std::nullopt},
    {"user", "Hello!", std::nullopt},
    {"assistant", "Hi! How can I help?", std::nullopt},
    {"user", "Tell me a joke.", std::nullopt},
};

constexpr const char* kPlainChatml =
    "<|im_start|>system\n"
    "You are a helpful assistant.<|im_end|>\n"
    "<|im_start|>user\n"
    "Hello!<|im_end|>\n"
    "<|im_start|>assistant\n"
    "Hi! How can I help?<|im_end|>\n"
    "<|im_start|>user\n"
    "Tell me a joke.<|im_end|>\n"
    "<|im_start|>assistant\n";

TEST(ChatTemplateTest, BuiltinChatml) {
  auto t = ChatTemplate::FromNameOrText("chatml");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(RenderOrDie(*t, kPlain), kPlainChatml);
  EXPECT_EQ(RenderOrDie(*t, {{"user", "Hi", std::nullopt}}, NoPrompt()), "<|im_start|>user\nHi<|im_end|>\n");
}

TEST(ChatTemplateTest, Qwen3TemplatePlainTurns) {
  auto t = ChatTemplate::FromText(Qwen3TemplateText());
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->name(), "jinja");
  EXPECT_EQ(RenderOrDie(*t, kPlain), kPlainChatml);  // Qwen3 renders plain turns exactly as ChatML
}

TEST(ChatTemplateTest, Qwen3ThinkHistory) {
  auto t = ChatTemplate::FromText(Qwen3TemplateText());
  ASSERT_TRUE(t.ok());
  const std::vector<ChatMessage> m = {
      {"user", "2+2?", std::nullopt},
      {"assistant", "<think>\nadd them\n</think>\n\n4", std::nullopt},
      {"user", "and 3+3?", std::nullopt},
      {"assistant", "<think>\nagain\n</think>\n\n6", std::nullopt},
  };
  ChatRenderOptions o;
  o.add_generation_prompt = false;
  // The reasoning before the last user query is dropped; the one after it is kept.
  EXPECT_EQ(RenderOrDie(*t, m, o),
            "<|im_start|>user\n2+2?<|im_end|>\n"
            "<|im_start|>assistant\n4<|im_end|>\n"
            "<|im_start|>user\nand 3+3?<|im_end|>\n"
            "<|im_start|>assistant\n<think>\nagain\n</think>\n\n6<|im_end|>\n");
}

TEST(ChatTemplateTest, Qwen3EnableThinkingFalse) {
  auto t = ChatTemplate::FromText(Qwen3TemplateText());
  ASSERT_TRUE(t.ok());
  ChatRenderOptions o;
  o.enable_thinking = false;
  EXPECT_EQ(RenderOrDie(*t, {{"user", "Hi", std::nullopt}}, o),
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
  o.enable_thinking = true;
  EXPECT_EQ(RenderOrDie(*t, {{"user", "Hi", std::nullopt}}, o), "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
}

TEST(ChatTemplateTest, DefaultSystemPromptFromTemplateText) {
  // Qwen2-Instruct's template.
  const std::string qwen2 =
      "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
      "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}"
      "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
      "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
  auto t = ChatTemplate::FromText(qwen2);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(RenderOrDie(*t, {{"user", "Hi", std::nullopt}}),
            "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
            "<|im_start|>assistant\n");
  // A system message of the conversation replaces the default.
  EXPECT_EQ(RenderOrDie(*t, {{"system", "S", std::nullopt}, {"user", "Hi", std::nullopt}}),
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
}

TEST(ChatTemplateTest, SelectionAndErrors) {
  EXPECT_EQ(ChatTemplate::Select("", "").value().name(), "chatml");
  EXPECT_EQ(ChatTemplate::Select("qwen2.5", Qwen3TemplateText()).value().name(), "qwen2.5");
  EXPECT_EQ(ChatTemplate::Select("", Qwen3TemplateText()).value().name(), "jinja");
  // Any template text renders as written (no more falling back to ChatML for unknown ones).
  auto inst = ChatTemplate::FromNameOrText("{% for m in messages %}[INST] {{ m['content'] }} [/INST]{% endfor %}");
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  EXPECT_EQ(RenderOrDie(*inst, {{"user", "a"}, {"user", "b"}}), "[INST] a [/INST][INST] b [/INST]");
  // Syntax errors name the line and column.
  auto broken = ChatTemplate::FromText("{% for m in messages %}\n{{ m.content }\n");
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("line 2"), std::string::npos) << broken.status().ToString();
  // raise_exception is FailedPrecondition with the template's message.
  auto raising = ChatTemplate::FromText("{% if messages[0].role != 'user' %}{{ raise_exception('roles must alternate') }}{% endif %}");
  ASSERT_TRUE(raising.ok());
  auto raised = raising->Render(std::vector<ChatMessage>{{"assistant", "x"}});
  ASSERT_FALSE(raised.ok());
  EXPECT_EQ(raised.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(raised.status().message().find("roles must alternate"), std::string::npos);
  auto bad_name = ChatTemplate::FromNameOrText("llama9");
  ASSERT_FALSE(bad_name.ok());
  EXPECT_NE(bad_name.status().message().find("chatml"), std::string::npos);
  auto t = ChatTemplate::FromNameOrText("chatml");
  const std::vector<ChatMessage> no_role = {{"", "x", std::nullopt}};
  EXPECT_FALSE(t->Render(no_role).ok());
}

TEST(ChatTemplateTest, DeltaAppendsNewTurnForChatml) {
  auto t = ChatTemplate::FromNameOrText("chatml");
  std::vector<ChatMessage> m = {kPlain[0], kPlain[1], kPlain[2]};
  const std::string before = RenderOrDie(*t, m, NoPrompt());
  m.push_back(kPlain[3]);
  auto d = t->RenderDelta(m, 3);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->keep_bytes, before.size());
  EXPECT_EQ(d->text, "<|im_start|>user\nTell me a joke.<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(before + d->text, kPlainChatml);
}

TEST(ChatTemplateTest, DeltaFallsBackWhenQwen3DropsReasoning) {
  auto t = ChatTemplate::FromText(Qwen3TemplateText());
  std::vector<ChatMessage> m = {{"user", "2+2?", std::nullopt}, {"assistant", "<think>\nx\n</think>\n\n4", std::nullopt}};
  const std::string before = RenderOrDie(*t, m, NoPrompt());
  m.push_back({"user", "more", std::nullopt});
  auto d = t->RenderDelta(m, 2);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->keep_bytes, std::string("<|im_start|>user\n2+2?<|im_end|>\n").size());
  EXPECT_EQ(before.substr(0, d->keep_bytes) + d->text, RenderOrDie(*t, m));
  EXPECT_EQ(d->text, "<|im_start|>assistant\n4<|im_end|>\n<|im_start|>user\nmore<|im_end|>\n<|im_start|>assistant\n");
}

TEST(ChatTemplateTest, BuiltinsMatchTheirFamilysTemplates) {
  // The qwen3 built-in renders what the real Qwen3 template renders for plain, reasoning and tool turns.
  auto real = ChatTemplate::FromText(Qwen3TemplateText());
  auto builtin = ChatTemplate::FromNameOrText("qwen3");
  ASSERT_TRUE(real.ok() && builtin.ok());
  const std::vector<std::vector<ChatMessage>> convs = {
      kPlain,
      {{"user", "2+2?"}, {"assistant", "<think>\nadd\n</think>\n\n4"}, {"user", "and 3+3?"}, {"assistant", "<think>\nagain\n</think>\n\n6"}},
      {{"user", "q"}, {"assistant", "call"}, {"tool", "r1"}, {"tool", "r2"}, {"assistant", "done", std::string("thought")}},
  };
  for (const auto& c : convs) {
    for (bool prompt : {false, true}) {
      ChatRenderOptions o;
      o.add_generation_prompt = prompt;
      EXPECT_EQ(RenderOrDie(*builtin, c, o), RenderOrDie(*real, c, o));
    }
  }
  ChatRenderOptions no_think;
  no_think.enable_thinking = false;
  EXPECT_EQ(RenderOrDie(*builtin, kPlain, no_think), RenderOrDie(*real, kPlain, no_think));
}

TEST(ChatTemplateTest, ExtraFieldsToolsAndVariables) {
  auto t = ChatTemplate::FromText(
      "{{ bos_token }}{% for m in messages %}{{ m.role }}:{{ m.content if m.content is not none else 'NULL' }}"
      "{% if m.tool_calls %}[{{ m.tool_calls[0].function.name }}]{% endif %};{% endfor %}"
      "{% if tools %}T={{ tools|map(attribute='name')|join(',') }}{% endif %}{{ greeting }}");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  t->SetSpecialTokens("<s>", "</s>");
  ChatRenderOptions o;
  o.tools_json = R"([{"name":"a"},{"name":"b"}])";
  o.extra_variables_json = R"({"greeting":"hi"})";
  const std::vector<ChatMessage> m = {
      {"user", "x"},
      {"assistant", "", std::nullopt, R"({"content":null,"tool_calls":[{"function":{"name":"f"}}]})"},
  };
  EXPECT_EQ(RenderOrDie(*t, m, o), "<s>user:x;assistant:NULL[f];T=a,bhi");
  o.extra_variables_json = "[1]";
  EXPECT_FALSE(t->Render(m, o).ok());
  const std::vector<ChatMessage> bad = {{"user", "x", std::nullopt, "{not json"}};
  EXPECT_FALSE(t->Render(bad).ok());
}

TEST(ChatTemplateTest, ToolResponsesShareOneUserTurn) {
  auto t = ChatTemplate::FromText(Qwen3TemplateText());
  const std::vector<ChatMessage> m = {
      {"user", "q", std::nullopt}, {"tool", "r1", std::nullopt}, {"tool", "r2", std::nullopt}};
  EXPECT_EQ(RenderOrDie(*t, m, NoPrompt()),
            "<|im_start|>user\nq<|im_end|>\n<|im_start|>user\n<tool_response>\nr1\n</tool_response>\n"
            "<tool_response>\nr2\n</tool_response><|im_end|>\n");
}

}  // namespace
}  // namespace st
