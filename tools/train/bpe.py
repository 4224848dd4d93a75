#!/usr/bin/python3
"""Byte-level BPE tokenizer (GPT-2 / Qwen2 style): trainer, encoder, decoder.

* GPT-2 byte-to-unicode mapping: every byte is a printable unicode character, so tokens are
  plain strings and merges are "a b" strings, exactly as in a GGUF `tokenizer.ggml.*` vocabulary.
* Pre-tokenization with the Qwen2 regex (`tokenizer.ggml.pre` = "qwen2"), via the `regex` module.
* Vocabulary: ids 0..255 are the 256 byte tokens (in GPT-2's byte_to_unicode order), then one token
  per merge in rank order, then the control tokens <|endoftext|>, <|im_start|>, <|im_end|>.
* Encoding applies merges by rank (lowest rank first) inside each pre-token, like GPT-2's `bpe()`
  and llama.cpp's BPE tokenizer.

Usage:
  python3 tools/train/bpe.py --train corpus.txt --vocab-size 4096 --out tok.json
"""
import argparse
import json
import sys

import regex

QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
                 r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
TOKEN_TYPE_NORMAL = 1
TOKEN_TYPE_CONTROL = 3


def bytes_to_unicode():
    """GPT-2's reversible byte -> printable unicode character mapping (list order = byte order
    used for the first 256 token ids)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return list(zip(bs, [chr(c) for c in cs]))


BYTE_PAIRS = bytes_to_unicode()
BYTE_ENCODER = dict(BYTE_PAIRS)
BYTE_DECODER = {c: b for b, c in BYTE_PAIRS}
PRETOK_RE = regex.compile(QWEN2_PATTERN)


def pretokenize(text):
    return PRETOK_RE.findall(text)


def to_byte_str(s):
    return "".join(BYTE_ENCODER[b] for b in s.encode("utf-8"))


def train_bpe(text, vocab_size, verbose=False):
    """Returns (tokens, merges). vocab_size counts the 256 byte tokens, the merges and the
    special tokens."""
    n_merges = vocab_size - 256 - len(SPECIAL_TOKENS)
    assert n_merges >= 0
    counts = {}
    for piece in pretokenize(text):
        counts[piece] = counts.get(piece, 0) + 1
    words = []   # list of symbol lists
    freqs = []
    for piece, c in counts.items():
        words.append(list(to_byte_str(piece)))
        freqs.append(c)
    pair_count = {}
    pair_words = {}
    for wi, w in enumerate(words):
        f = freqs[wi]
        for a, b in zip(w, w[1:]):
            p = (a, b)
            pair_count[p] = pair_count.get(p, 0) + f
            pair_words.setdefault(p, set()).add(wi)
    merges = []
    tokens = [c for _, c in BYTE_PAIRS]
    for it in range(n_merges):
        if not pair_count:
            break
        # highest count; ties broken by the lexicographically smallest pair (deterministic)
        best = min(pair_count.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        if pair_count[best] <= 0:
            break
        a, b = best
        merged = a + b
        merges.append(best)
        tokens.append(merged)
        for wi in list(pair_words.get(best, ())):
            w = words[wi]
            f = freqs[wi]
            # remove old pair contributions of this word
            for p in zip(w, w[1:]):
                pair_count[p] -= f
                if pair_count[p] == 0:
                    del pair_count[p]
                s = pair_words.get(p)
                if s is not None:
                    s.discard(wi)
            nw = []
            i = 0
            while i < len(w):
                if i + 1 < len(w) and w[i] == a and w[i + 1] == b:
                    nw.append(merged)
                    i += 2
                else:
                    nw.append(w[i])
                    i += 1
            words[wi] = nw
            for p in zip(nw, nw[1:]):
                pair_count[p] = pair_count.get(p, 0) + f
                pair_words.setdefault(p, set()).add(wi)
        pair_words.pop(best, None)
        pair_count.pop(best, None)
        if verbose and (it % 500 == 0 or it == n_merges - 1):
            print(f"merge {it}: {a!r}+{b!r}", file=sys.stderr)
    tokens += SPECIAL_TOKENS
    return tokens, merges


class Tokenizer:
    def __init__(self, tokens, merges):
        self.tokens = list(tokens)
        self.merges = [tuple(m) for m in merges]
        self.token_to_id = {t: i for i, t in enumerate(self.tokens)}
        self.ranks = {m: i for i, m in enumerate(self.merges)}
        self.special = {t: self.token_to_id[t] for t in SPECIAL_TOKENS if t in self.token_to_id}
        self.token_types = [TOKEN_TYPE_CONTROL if t in self.special else TOKEN_TYPE_NORMAL
                            for t in self.tokens]
        self.eot_id = self.special.get("<|endoftext|>")
        self._cache = {}
        self._special_re = regex.compile("(" + "|".join(regex.escape(s) for s in self.special)
                                         + ")") if self.special else None

    @classmethod
    def load(cls, path):
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
        return cls(d["tokens"], [m.split(" ") for m in d["merges"]])

    def save(self, path):
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"model": "gpt2", "pre": "qwen2", "pattern": QWEN2_PATTERN,
                       "tokens": self.tokens, "token_types": self.token_types,
                       "merges": [a + " " + b for a, b in self.merges]}, f, ensure_ascii=False)

    def _bpe(self, piece):
        r = self._cache.get(piece)
        if r is not None:
            return r
        word = list(to_byte_str(piece))
        while len(word) > 1:
            best_rank, best = None, None
            for p in zip(word, word[1:]):
                rk = self.ranks.get(p)
                if rk is not None and (best_rank is None or rk < best_rank):
                    best_rank, best = rk, p
            if best is None:
                break
            a, b = best
            nw = []
            i = 0
            while i < len(word):
                if i + 1 < len(word) and word[i] == a and word[i + 1] == b:
                    nw.append(a + b)
                    i += 2
                else:
                    nw.append(word[i])
                    i += 1
            word = nw
        ids = [self.token_to_id[t] for t in word]
        if len(self._cache) < 200000:
            self._cache[piece] = ids
        return ids

    def encode(self, text, allow_special=False):
        if allow_special and self._special_re is not None:
            out = []
            for part in self._special_re.split(text):
                if part in self.special:
                    out.append(self.special[part])
                elif part:
                    out += self.encode(part)
            return out
        out = []
        for piece in pretokenize(text):
            out += self._bpe(piece)
        return out

    def decode(self, ids):
        bs = bytearray()
        for i in ids:
            t = self.tokens[i]
            if i in self.special.values():
                bs += t.encode("utf-8")
            else:
                bs += bytes(BYTE_DECODER[c] for c in t)
        return bs.decode("utf-8", errors="replace")

    def __len__(self):
        return len(self.tokens)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", required=True, help="training text (UTF-8)")
    ap.add_argument("--vocab-size", type=int, default=4096)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    with open(a.train, encoding="utf-8") as f:
        text = f.read()
    tokens, merges = train_bpe(text, a.vocab_size, verbose=True)
    tok = Tokenizer(tokens, merges)
    tok.save(a.out)
    print(f"vocab {len(tok)} ({len(merges)} merges) -> {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
