#include "text/tokenizer.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <unordered_map>

#include "text/byte_level.h"

namespace st {

namespace {

const std::string kEmpty;

constexpr std::string_view kEndOfGenerationTexts[] = {"<|im_end|>", "<|endoftext|>", "<|eot_id|>", "</s>",
                                                      "<|end|>"};

bool IsType(int32_t type, TokenType t) { return type == static_cast<int32_t>(t); }

// "[PAD<id>]" with the token's own id: a filler row, not a token anyone types or a model emits.
bool IsFiller(const std::string& text, size_t id) {
  if (text.size() < 6 || text.compare(0, 4, "[PAD") != 0 || text.back() != ']') return false;
  size_t value = 0;
  const char* first = text.data() + 4;
  const char* last = text.data() + text.size() - 1;
  auto [p, ec] = std::from_chars(first, last, value);
  return ec == std::errc() && p == last && value == id;
}

// Long texts are pre-tokenized in chunks of about kChunkBytes, so the decoded code points of a
// whole book never sit in memory at once. A chunk ends inside "<visible ASCII>\n<ASCII letter or
// digit>", after the '\n': both regexes end a word there whatever follows (the lone '\n' is a
// word of its own, at the end of a text or not), so the split changes nothing.
constexpr size_t kChunkBytes = 1 << 20;

std::vector<std::string_view> SplitForPreTokenizer(std::string_view text) {
  std::vector<std::string_view> chunks;
  while (text.size() > kChunkBytes) {
    size_t cut = std::string_view::npos;
    for (size_t p = text.find('\n', kChunkBytes); p != std::string_view::npos && p + 1 < text.size();
         p = text.find('\n', p + 1)) {
      const char b = text[p - 1], c = text[p + 1];
      const bool visible_before = b > ' ' && b < 0x7f;
      if (visible_before && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) {
        cut = p + 1;
        break;
      }
    }
    if (cut == std::string_view::npos) break;
    chunks.push_back(text.substr(0, cut));
    text.remove_prefix(cut);
  }
  chunks.push_back(text);
  return chunks;
}

Status CheckId(int32_t id, size_t n, const char* what) {
  if (id < -1 || id >= static_cast<int64_t>(n)) {
    return InvalidFile(fmt::format("{} {} is outside the vocabulary of {} tokens", what, id, n));
  }
  return Status::Ok();
}

}  // namespace

Result<Tokenizer> Tokenizer::FromVocab(Vocab vocab) {
  if (vocab.model != "gpt2") {
    return Unsupported(fmt::format("tokenizer.ggml.model '{}' is not supported (only 'gpt2', byte-level BPE)",
                                   vocab.model));
  }
  ST_ASSIGN_OR_RETURN(PreTokenizerKind pre, PreTokenizerFromName(vocab.pre));
  if (vocab.tokens.empty()) return InvalidFile("tokenizer.ggml.tokens is empty");
  if (vocab.types.empty()) vocab.types.assign(vocab.tokens.size(), static_cast<int32_t>(TokenType::kNormal));
  if (vocab.types.size() != vocab.tokens.size()) {
    return InvalidFile(fmt::format("tokenizer.ggml.token_type has {} entries for {} tokens", vocab.types.size(),
                                   vocab.tokens.size()));
  }
  ST_RETURN_IF_ERROR(CheckId(vocab.bos_id, vocab.tokens.size(), "tokenizer.ggml.bos_token_id"));
  ST_RETURN_IF_ERROR(CheckId(vocab.eos_id, vocab.tokens.size(), "tokenizer.ggml.eos_token_id"));
  ST_RETURN_IF_ERROR(CheckId(vocab.pad_id, vocab.tokens.size(), "tokenizer.ggml.padding_token_id"));
  ST_ASSIGN_OR_RETURN(BpeEncoder bpe, BpeEncoder::Create(vocab));
  return Tokenizer(std::move(vocab), pre, std::move(bpe));
}

Result<Tokenizer> Tokenizer::FromGguf(const GgufFile& file) {
  ST_ASSIGN_OR_RETURN(Vocab vocab, Vocab::FromGguf(file));
  auto tok = FromVocab(std::move(vocab));
  if (!tok.ok()) return tok.status().WithContext(file.path());
  return tok;
}

Tokenizer::Tokenizer(Vocab vocab, PreTokenizerKind pre, BpeEncoder bpe)
    : vocab_(std::move(vocab)), pre_(pre), bpe_(std::move(bpe)) {
  const size_t n = vocab_.tokens.size();
  pieces_.resize(n);
  is_control_.assign(n, 0);
  for (size_t id = 0; id < n; ++id) {
    const std::string& text = vocab_.tokens[id];
    const int32_t type = vocab_.types[id];
    if (IsType(type, TokenType::kNormal) || IsType(type, TokenType::kUndefined)) {
      pieces_[id] = ByteLevelDecode(text);
    } else if (IsType(type, TokenType::kControl)) {
      pieces_[id] = text;  // added tokens are stored as plain text, not byte-level
      is_control_[id] = 1;
    } else if (IsType(type, TokenType::kUserDefined) && !IsFiller(text, id)) {
      pieces_[id] = text;
    }  // unknown, unused, byte and filler tokens decode to nothing
  }
  IndexAddedTokens();
  if (vocab_.eos_id >= 0) eog_ids_.push_back(vocab_.eos_id);
  for (size_t id = 0; id < n; ++id) {
    if (!is_control_[id] || static_cast<int32_t>(id) == vocab_.eos_id) continue;
    for (std::string_view t : kEndOfGenerationTexts) {
      if (vocab_.tokens[id] == t) eog_ids_.push_back(static_cast<int32_t>(id));
    }
  }
}

void Tokenizer::IndexAddedTokens() {
  for (size_t id = 0; id < vocab_.tokens.size(); ++id) {
    const std::string& text = vocab_.tokens[id];
    const int32_t type = vocab_.types[id];
    const bool added = IsType(type, TokenType::kControl) ||
                       (IsType(type, TokenType::kUserDefined) && !IsFiller(text, id));
    if (added && !text.empty()) added_by_first_byte_[static_cast<uint8_t>(text[0])].push_back(static_cast<int32_t>(id));
  }
  for (auto& bucket : added_by_first_byte_) {
    std::stable_sort(bucket.begin(), bucket.end(), [&](int32_t a, int32_t b) {
      return vocab_.tokens[a].size() > vocab_.tokens[b].size();
    });
  }
}

int32_t Tokenizer::MatchAddedToken(std::string_view text, size_t i, bool parse_special) const {
  for (int32_t id : added_by_first_byte_[static_cast<uint8_t>(text[i])]) {
    if (is_control_[id] && !parse_special) continue;
    const std::string& t = vocab_.tokens[id];
    if (text.compare(i, t.size(), t) == 0) return id;
  }
  return -1;
}

bool Tokenizer::AddBosFor(std::string_view rendered) const {
  if (!vocab_.add_bos || vocab_.bos_id < 0) return false;
  const std::string& piece = TokenToPiece(vocab_.bos_id, /*render_special=*/true);
  return piece.empty() || !rendered.starts_with(piece);
}

std::vector<int32_t> Tokenizer::Encode(std::string_view text, bool add_bos, bool parse_special) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 2);
  if (add_bos && vocab_.bos_id >= 0) ids.push_back(vocab_.bos_id);

  // BPE results of this call, per distinct word: texts repeat their words a lot.
  std::unordered_map<std::string_view, std::pair<size_t, size_t>> cache;  // word -> [begin, end) in store
  std::vector<int32_t> store;
  std::vector<std::string_view> words;
  const auto encode_plain = [&](std::string_view text_piece) {
    for (std::string_view chunk : SplitForPreTokenizer(text_piece)) {
      words.clear();
      PreTokenize(pre_, chunk, words);
      for (std::string_view w : words) {
        auto it = cache.find(w);
        if (it == cache.end()) {
          const size_t begin = store.size();
          bpe_.EncodeWord(w, store);
          it = cache.emplace(w, std::make_pair(begin, store.size())).first;
        }
        ids.insert(ids.end(), store.begin() + it->second.first, store.begin() + it->second.second);
      }
    }
  };

  size_t plain_begin = 0;
  for (size_t i = 0; i < text.size();) {
    const int32_t id = MatchAddedToken(text, i, parse_special);
    if (id < 0) {
      ++i;
      continue;
    }
    encode_plain(text.substr(plain_begin, i - plain_begin));
    ids.push_back(id);
    i += vocab_.tokens[id].size();
    plain_begin = i;
  }
  encode_plain(text.substr(plain_begin));
  return ids;
}

const std::string& Tokenizer::TokenToPiece(int32_t id, bool render_special) const {
  if (id < 0 || id >= n_vocab()) return kEmpty;
  if (is_control_[id] && !render_special) return kEmpty;
  return pieces_[id];
}

std::string Tokenizer::Decode(std::span<const int32_t> ids, bool render_special) const {
  std::string out;
  for (int32_t id : ids) out += TokenToPiece(id, render_special);
  return out;
}

bool Tokenizer::IsEndOfGeneration(int32_t id) const {
  return std::find(eog_ids_.begin(), eog_ids_.end(), id) != eog_ids_.end();
}

std::optional<int32_t> Tokenizer::FindAddedToken(std::string_view text) const {
  if (text.empty()) return std::nullopt;
  for (int32_t id : added_by_first_byte_[static_cast<uint8_t>(text[0])]) {
    if (vocab_.tokens[id] == text) return id;
  }
  return std::nullopt;
}

bool Tokenizer::IsControl(int32_t id) const { return id >= 0 && id < n_vocab() && is_control_[id]; }

}  // namespace st
