// The built-in tiny byte-level BPE vocabulary for small generated models: 256 byte tokens, merges
// learned from a short built-in English text, and the ChatML special tokens.
#include <algorithm>
#include <cctype>
#include <map>
#include <string>
#include <vector>

#include "gen/model_generator.h"

namespace st {
namespace {

// A few paragraphs of plain English so the merges are the usual ones (" t", "he", " the", ...).
constexpr const char* kTrainingText =
    "once upon a time there was a little girl named lily. she liked to play outside in the sun. "
    "one day she saw a big red ball in the park. she ran to the ball and picked it up. "
    "her friend tom came to play with her. they played with the ball all day long and they were happy. "
    "the sun was warm and the sky was blue. a bird sang in the tree and the wind was soft. "
    "when it was time to go home, lily said thank you to tom. tom smiled and said goodbye. "
    "the next day they met again and went to the river to look at the fish in the water. "
    "The quick brown fox jumps over the lazy dog. It is what it is, and that is that. "
    "We are going to the store to buy some bread, milk and eggs for breakfast tomorrow morning. "
    "This is a test of the model generator. There is nothing here but simple words and sentences.\n"
    "Hello, world! How are you today? I am fine, thank you. What would you like to do now?\n";

const char* const kChatMl =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + "
    "'\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

// Splits text into GPT-2-like words: a leading space attaches to the following run of letters.
std::vector<std::string> Words(const std::string& text) {
  std::vector<std::string> words;
  std::string cur;
  auto flush = [&] {
    if (!cur.empty()) words.push_back(cur);
    cur.clear();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    const bool alpha = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
    if (ch == ' ') {
      flush();
      cur = " ";
    } else if (alpha) {
      if (!cur.empty() && cur != " " && !std::isalpha(static_cast<unsigned char>(cur.back()))) flush();
      cur += ch;
    } else {
      flush();
      words.push_back(std::string(1, ch));
    }
  }
  flush();
  return words;
}

}  // namespace

Vocab TinyVocab(uint32_t n_tokens) {
  Vocab v;
  v.pre = "qwen2";
  for (int b = 0; b < 256; ++b) {
    v.tokens.push_back(ByteToUnicode(static_cast<uint8_t>(b)));
    v.types.push_back(static_cast<int32_t>(TokenType::kNormal));
  }
  const uint32_t n_special = 3;
  const uint32_t n_merges = n_tokens > 256 + n_special ? n_tokens - 256 - n_special : 0;

  // Words as sequences of byte-level symbols, with counts.
  std::map<std::vector<std::string>, int> words;
  for (const std::string& w : Words(kTrainingText)) {
    std::vector<std::string> sym;
    for (unsigned char ch : w) sym.push_back(ByteToUnicode(ch));
    ++words[sym];
  }
  for (uint32_t m = 0; m < n_merges; ++m) {
    std::map<std::pair<std::string, std::string>, int> pairs;
    for (const auto& [sym, count] : words) {
      for (size_t i = 0; i + 1 < sym.size(); ++i) pairs[{sym[i], sym[i + 1]}] += count;
    }
    if (pairs.empty()) break;
    // Most frequent pair; ties go to the lexicographically smallest (deterministic).
    auto best = pairs.begin();
    for (auto it = pairs.begin(); it != pairs.end(); ++it) {
      if (it->second > best->second) best = it;
    }
    const auto [a, b] = best->first;
    v.merges.push_back(a + " " + b);
    v.tokens.push_back(a + b);
    v.types.push_back(static_cast<int32_t>(TokenType::kNormal));
    std::map<std::vector<std::string>, int> next;
    for (const auto& [sym, count] : words) {
      std::vector<std::string> out;
      for (size_t i = 0; i < sym.size(); ++i) {
        if (i + 1 < sym.size() && sym[i] == a && sym[i + 1] == b) {
          out.push_back(a + b);
          ++i;
        } else {
          out.push_back(sym[i]);
        }
      }
      next[out] += count;
    }
    words = std::move(next);
  }
  // Byte-level symbols without further merges may leave fewer tokens than asked; pad below.
  for (const char* special : {"<|endoftext|>", "<|im_start|>", "<|im_end|>"}) {
    v.tokens.push_back(special);
    v.types.push_back(static_cast<int32_t>(TokenType::kControl));
  }
  const int32_t endoftext = static_cast<int32_t>(v.tokens.size()) - 3;
  v.bos_id = endoftext;
  v.eos_id = endoftext;
  v.pad_id = endoftext;
  v.add_bos = false;
  v.chat_template = kChatMl;
  v.PadTo(n_tokens);
  return v;
}

}  // namespace st
