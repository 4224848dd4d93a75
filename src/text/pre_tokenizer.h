// Pre-tokenizers of byte-level BPE: split text into words before merges, as the vocabulary's
// `tokenizer.ggml.pre` regex would. Hand-written scanners over code points that follow the
// leftmost-first, backtracking semantics of the regexes (Oniguruma in Hugging Face tokenizers):
//
//   qwen2:  (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*
//           |\s*[\r\n]+|\s+(?!\S)|\s+
//   gpt-2:  's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// Classes come from unicode_tables.cc (Python's unicodedata; see its header for the version).
// Differences from the reference implementations, all at the edges:
//   - (?i:...) folds ASCII letters only; Oniguruma would also fold U+017F (long s) to 's'.
//   - Code points assigned after our table's Unicode version classify as symbols.
//   - Invalid UTF-8 bytes classify like U+FFFD (a symbol) and stay their own bytes, so every byte
//     string round-trips; llama.cpp replaces them with U+FFFD, Hugging Face refuses them.
//   - No NFC normalization (Qwen's tokenizer.json asks for it; llama.cpp does not do it either).
#pragma once

#include <string_view>
#include <vector>

#include "smallthinker/status.h"

namespace st {

enum class PreTokenizerKind { kQwen2, kGpt2 };

// The pre-tokenizer for a `tokenizer.ggml.pre` value: "qwen2" or "gpt-2" (also "gpt2").
// Anything else: Unsupported, naming the value.
Result<PreTokenizerKind> PreTokenizerFromName(std::string_view name);

// Appends the words of `text` to `words`, in order; they concatenate to `text` exactly. The views
// point into `text`. Never fails: every byte string is accepted.
void PreTokenize(PreTokenizerKind kind, std::string_view text, std::vector<std::string_view>& words);

}  // namespace st
