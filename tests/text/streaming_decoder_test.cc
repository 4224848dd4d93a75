// StreamingDecoder: multi-byte characters split across tokens come out whole.
#include "text/streaming_decoder.h"

#include <gtest/gtest.h>

#include "text/text_test_util.h"

namespace st {
namespace {

using ::st::testing::QwenTokenizer;

TEST(StreamingDecoderTest, HoldsSplitCharactersUntilComplete) {
  const Tokenizer& tok = QwenTokenizer();
  // "🦙" is 4 bytes spread over several tokens in Qwen's vocabulary.
  const std::string text = " this is 🦙.cpp, Cửa Việt, 我想在apple工作 😶‍🌫️";
  const auto ids = tok.Encode(text, false, false);
  StreamingDecoder dec(tok);
  std::string out;
  int held = 0;
  for (int32_t id : ids) {
    const std::string piece = dec.Push(id);
    EXPECT_EQ(IncompleteUtf8Suffix(piece), 0u) << "emitted a partial character";
    if (dec.pending_bytes() > 0) ++held;
    out += piece;
  }
  out += dec.Flush();
  EXPECT_EQ(out, text);
  EXPECT_GT(held, 0) << "the test text should split a character across tokens";
}

TEST(StreamingDecoderTest, LlamaEmojiTokens) {
  const Tokenizer& tok = QwenTokenizer();
  // " 🦙" is " \xf0\x9f" + "\xa6" + "\x99" in Qwen's vocabulary (llama.cpp's test vectors).
  const auto ids = tok.Encode(" 🦙", false, false);
  ASSERT_EQ(ids, (std::vector<int32_t>{11162, 99, 247}));
  StreamingDecoder dec(tok);
  EXPECT_EQ(dec.Push(ids[0]), " ");
  EXPECT_EQ(dec.Push(ids[1]), "");
  EXPECT_EQ(dec.Push(ids[2]), "🦙");
  EXPECT_EQ(dec.Flush(), "");
}

TEST(StreamingDecoderTest, FlushReturnsIncompleteTail) {
  const Tokenizer& tok = QwenTokenizer();
  StreamingDecoder dec(tok);
  EXPECT_EQ(dec.PushBytes("ab\xe4\xbd"), "ab");
  EXPECT_EQ(dec.pending_bytes(), 2u);
  EXPECT_EQ(dec.Flush(), "\xe4\xbd");
  EXPECT_EQ(dec.pending_bytes(), 0u);
}

TEST(StreamingDecoderTest, InvalidBytesPassThrough) {
  const Tokenizer& tok = QwenTokenizer();
  StreamingDecoder dec(tok);
  EXPECT_EQ(dec.PushBytes("\xff"), "\xff");         // never valid
  EXPECT_EQ(dec.PushBytes("\x80"), "\x80");         // stray continuation
  EXPECT_EQ(dec.PushBytes("\xe0\x80"), "\xe0\x80");  // overlong: can never complete
  EXPECT_EQ(dec.PushBytes("\xed\xa0"), "\xed\xa0");  // surrogate
  EXPECT_EQ(dec.PushBytes("\xf4\x90"), "\xf4\x90");  // past U+10FFFF
  EXPECT_EQ(dec.PushBytes("\xf0\x9f"), "");          // a valid start: held
  EXPECT_EQ(dec.PushBytes("\x98\x81x"), "\xf0\x9f\x98\x81x");
}

TEST(StreamingDecoderTest, ControlTokensFollowRenderSpecial) {
  const Tokenizer& tok = QwenTokenizer();
  StreamingDecoder shown(tok, /*render_special=*/true), hidden(tok, /*render_special=*/false);
  EXPECT_EQ(shown.Push(151645), "<|im_end|>");
  EXPECT_EQ(hidden.Push(151645), "");
  EXPECT_EQ(hidden.Push(9707), "Hello");
}

TEST(IncompleteUtf8SuffixTest, Cases) {
  EXPECT_EQ(IncompleteUtf8Suffix(""), 0u);
  EXPECT_EQ(IncompleteUtf8Suffix("abc"), 0u);
  EXPECT_EQ(IncompleteUtf8Suffix("a\xc3"), 1u);
  EXPECT_EQ(IncompleteUtf8Suffix("\xc3\xa9"), 0u);
  EXPECT_EQ(IncompleteUtf8Suffix("\xe4\xbd"), 2u);
  EXPECT_EQ(IncompleteUtf8Suffix("\xf0\x9f\xa6"), 3u);
  EXPECT_EQ(IncompleteUtf8Suffix("\xf0\x9f\xa6\x99"), 0u);
  EXPECT_EQ(IncompleteUtf8Suffix("\x80\x80\x80"), 0u);
  EXPECT_EQ(IncompleteUtf8Suffix("\xc0"), 0u);
}

}  // namespace
}  // namespace st
