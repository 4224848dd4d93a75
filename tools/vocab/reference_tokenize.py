#!/usr/bin/python3
"""An independent Qwen2 tokenizer in plain Python, for goldens: the qwen2 regex through the
`regex` module (Debian: python3-regex) and a textbook BPE loop over tokenizer.json's merges. It
shares nothing with src/text (no Unicode table, no scanner, no heap), and is slow but simple.

  reference_tokenize.py TOKENIZER_JSON --text "Hello world"      ids, one line
  reference_tokenize.py TOKENIZER_JSON --hash FILE...            count and FNV-1a-64 of the ids

The corpus counts and hashes in tests/text/tokenizer_test.cc come from --hash on the files in
../shared/data/corpus (no BOS, no special tokens, no NFC normalization, like llama.cpp).
"""
import argparse
import functools
import json

import regex

QWEN2 = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
         r"""|\s*[\r\n]+|\s+(?!\S)|\s+""")


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


class Reference:
    def __init__(self, tokenizer_json):
        model = json.load(open(tokenizer_json, encoding='utf-8'))['model']
        self.vocab = model['vocab']
        merges = [tuple(m.split(' ', 1)) if isinstance(m, str) else tuple(m) for m in model['merges']]
        self.ranks = {m: i for i, m in enumerate(merges)}
        self.b2u = bytes_to_unicode()
        self.bpe = functools.lru_cache(maxsize=None)(self._bpe)

    def _bpe(self, word):
        syms = [self.b2u[b] for b in word.encode('utf-8')]
        while len(syms) > 1:
            best = None
            for i in range(len(syms) - 1):
                r = self.ranks.get((syms[i], syms[i + 1]))
                if r is not None and (best is None or r < best[0]):
                    best = (r, i)  # lowest rank, leftmost among equals
            if best is None:
                break
            i = best[1]
            syms[i:i + 2] = [syms[i] + syms[i + 1]]
        return tuple(self.vocab[s] for s in syms)

    def encode(self, text):
        ids = []
        for w in regex.findall(QWEN2, text):
            ids += self.bpe(w)
        return ids


def fnv1a64(ids):
    h = 0xcbf29ce484222325
    for i in ids:
        for b in int(i).to_bytes(4, 'little'):
            h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
    return h


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('tokenizer_json')
    ap.add_argument('--text')
    ap.add_argument('--hash', nargs='*', default=[])
    a = ap.parse_args()
    ref = Reference(a.tokenizer_json)
    if a.text is not None:
        print(' '.join(map(str, ref.encode(a.text))))
    for path in a.hash:
        ids = ref.encode(open(path, encoding='utf-8', newline='').read())
        print('%s %d 0x%016x' % (path, len(ids), fnv1a64(ids)))


if __name__ == '__main__':
    main()
