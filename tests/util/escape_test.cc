// EscapeForDisplay: untrusted file strings printed to a terminal cannot carry control sequences,
// NULs or invalid UTF-8; readable text (ASCII and other scripts) is kept.
#include "util/escape.h"

#include <gtest/gtest.h>

#include <string>

namespace st {
namespace {

using namespace std::string_literals;

TEST(EscapeTest, KeepsPrintableText) {
  EXPECT_EQ(EscapeForDisplay("SmallThinker-4BA0.6B"), "SmallThinker-4BA0.6B");
  EXPECT_EQ(EscapeForDisplay("caf\xc3\xa9 \xe6\xbc\xa2\xe5\xad\x97 \xf0\x9f\x98\x80"), "caf\xc3\xa9 \xe6\xbc\xa2\xe5\xad\x97 \xf0\x9f\x98\x80");
  EXPECT_EQ(EscapeForDisplay("a\\b"), "a\\b");
  EXPECT_EQ(EscapeForDisplay(""), "");
}

TEST(EscapeTest, EscapesControlCharacters) {
  EXPECT_EQ(EscapeForDisplay("\x1b]0;pwned\x07"), "\\x1b]0;pwned\\x07");
  EXPECT_EQ(EscapeForDisplay("a\nb\rc\td"), "a\\x0ab\\x0dc\\x09d");
  EXPECT_EQ(EscapeForDisplay("del\x7f"), "del\\x7f");
  EXPECT_EQ(EscapeForDisplay("csi\xc2\x9b" "31m"), "csi\\xc2\\x9b31m");  // C1 CSI
  EXPECT_EQ(EscapeForDisplay("nbsp\xc2\xa0"), "nbsp\xc2\xa0");         // U+00A0 is printable
}

TEST(EscapeTest, ShowsEmbeddedNul) {
  EXPECT_EQ(EscapeForDisplay("smallthinker\0evil"s), "smallthinker\\x00evil");
}

TEST(EscapeTest, EscapesInvalidUtf8) {
  EXPECT_EQ(EscapeForDisplay("bad \xff byte"), "bad \\xff byte");
  EXPECT_EQ(EscapeForDisplay("cut \xe6\xbc"), "cut \\xe6\\xbc");          // truncated sequence
  EXPECT_EQ(EscapeForDisplay("over \xc0\xaf"), "over \\xc0\\xaf");        // overlong '/'
  EXPECT_EQ(EscapeForDisplay("sur \xed\xa0\x80"), "sur \\xed\\xa0\\x80"); // a surrogate
  EXPECT_EQ(EscapeForDisplay("big \xf4\x90\x80\x80"), "big \\xf4\\x90\\x80\\x80");
}

}  // namespace
}  // namespace st
