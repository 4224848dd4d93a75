// Pre-tokenizer scanners and the Unicode tables they use. The expected splits follow the regexes
// in pre_tokenizer.h (checked against Python's `regex` module while writing them).
#include "text/pre_tokenizer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "text/unicode.h"

namespace st {
namespace {

using ::testing::ElementsAre;

std::vector<std::string> Split(PreTokenizerKind kind, std::string_view text) {
  std::vector<std::string_view> words;
  PreTokenize(kind, text, words);
  return {words.begin(), words.end()};
}

TEST(UnicodeTest, Classes) {
  EXPECT_EQ(CodepointFlags('a'), kFlagLetter);
  EXPECT_EQ(CodepointFlags('7'), kFlagNumber);
  EXPECT_EQ(CodepointFlags('\t'), kFlagWhitespace);
  EXPECT_EQ(CodepointFlags('!'), 0);
  EXPECT_EQ(CodepointFlags(0x00e9), kFlagLetter);      // é
  EXPECT_EQ(CodepointFlags(0x4e2d), kFlagLetter);      // 中
  EXPECT_EQ(CodepointFlags(0x0663), kFlagNumber);      // ٣ (Nd)
  EXPECT_EQ(CodepointFlags(0x00bd), kFlagNumber);      // ½ (No)
  EXPECT_EQ(CodepointFlags(0x2167), kFlagNumber);      // Ⅷ (Nl)
  EXPECT_EQ(CodepointFlags(0x00a0), kFlagWhitespace);  // no-break space
  EXPECT_EQ(CodepointFlags(0x3000), kFlagWhitespace);
  EXPECT_EQ(CodepointFlags(0x200b), 0);                // zero-width space is not White_Space
  EXPECT_EQ(CodepointFlags(0x001c), 0);                // Python's isspace() says yes; \s does not
  EXPECT_EQ(CodepointFlags(0x0301), 0);                // combining mark
  EXPECT_EQ(CodepointFlags(0x1f999), 0);               // 🦙
  EXPECT_EQ(CodepointFlags(0x10ffff), 0);
}

TEST(UnicodeTest, DecodeInvalidBytesOneByOne) {
  const auto u = DecodeUtf8("a\xe2\x82z\xf0\x9f\xa6\x99");
  ASSERT_EQ(u.size(), 5u);
  EXPECT_EQ(u[0].cp, 'a');
  EXPECT_EQ(u[1].cp, kInvalidCodepoint);
  EXPECT_EQ(u[2].cp, kInvalidCodepoint);
  EXPECT_EQ(u[2].offset, 2u);
  EXPECT_EQ(u[3].cp, 'z');
  EXPECT_EQ(u[4].cp, 0x1f999u);
  EXPECT_EQ(ValidUtf8Length("\xed\xa0\x80"), 0u);  // surrogate
  EXPECT_EQ(ValidUtf8Length("\xc0\xaf"), 0u);      // overlong
  EXPECT_EQ(ValidUtf8Length("\xf4\x8f\xbf\xbf"), 4u);
}

TEST(PreTokenizerTest, Qwen2) {
  const auto q = PreTokenizerKind::kQwen2;
  EXPECT_THAT(Split(q, "Hello, y'all! How"), ElementsAre("Hello", ",", " y", "'all", "!", " How"));
  EXPECT_THAT(Split(q, "I'VE 12345"), ElementsAre("I", "'VE", " ", "1", "2", "3", "4", "5"));
  EXPECT_THAT(Split(q, "   Hello\n\n  x"), ElementsAre("  ", " Hello", "\n\n", " ", " x"));
  EXPECT_THAT(Split(q, "a \n\tb"), ElementsAre("a", " \n", "\tb"));
  EXPECT_THAT(Split(q, "x  "), ElementsAre("x", "  "));
  EXPECT_THAT(Split(q, " ...!\n\nok"), ElementsAre(" ...!\n\n", "ok"));
  EXPECT_THAT(Split(q, "\xff\x41"), ElementsAre("\xff\x41"));  // a bad byte leads a word like a symbol
  EXPECT_THAT(Split(q, ""), ElementsAre());
}

TEST(PreTokenizerTest, Gpt2) {
  const auto g = PreTokenizerKind::kGpt2;
  EXPECT_THAT(Split(g, "Hello, y'all! How"), ElementsAre("Hello", ",", " y", "'", "all", "!", " How"));
  EXPECT_THAT(Split(g, "I'VE 12345"), ElementsAre("I", "'", "VE", " 12345"));
  EXPECT_THAT(Split(g, "   Hello\n\n  x"), ElementsAre("  ", " Hello", "\n\n ", " x"));
  EXPECT_THAT(Split(g, "x  "), ElementsAre("x", "  "));
}

TEST(PreTokenizerTest, Names) {
  EXPECT_EQ(PreTokenizerFromName("qwen2").value(), PreTokenizerKind::kQwen2);
  EXPECT_EQ(PreTokenizerFromName("gpt-2").value(), PreTokenizerKind::kGpt2);
  EXPECT_EQ(PreTokenizerFromName("llama-bpe").status().code(), StatusCode::kUnsupported);
}

}  // namespace
}  // namespace st
