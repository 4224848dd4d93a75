#!/usr/bin/python3
"""Samples from a tiny SmallThinker in PyTorch (a train.py checkpoint or a GGUF file).

  /usr/bin/python3 tools/train/sample.py --gguf models/tinystories-st-q8_0.gguf \
      --prompt "once upon a time" [--temp 0 | --temp 0.6 --top-k 20 --seed 1] [-n 200]

Greedy when --temp is 0. Stops at <|endoftext|> (or any control token). No BOS is added
(tokenizer.ggml.add_bos_token = false).
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe  # noqa: E402
import export_gguf  # noqa: E402


@torch.no_grad()
def generate(model, tok, prompt, n=200, temp=0.0, top_k=20, top_p=0.95, seed=0):
    g = torch.Generator().manual_seed(seed)
    ids = tok.encode(prompt)
    stop = set(tok.special.values())
    out = []
    for _ in range(n):
        ctx = torch.tensor([ids[-model.cfg.context_length:]])
        logits = model(ctx)[0][0, -1]
        if temp <= 0:
            nxt = int(logits.argmax())
        else:
            l = logits / temp
            v, ix = l.topk(top_k)
            p = torch.softmax(v, -1)
            c = p.cumsum(-1)
            keep = (c - p) < top_p
            p = torch.where(keep, p, torch.zeros_like(p))
            nxt = int(ix[torch.multinomial(p / p.sum(), 1, generator=g)])
        if nxt in stop:
            break
        ids.append(nxt)
        out.append(nxt)
    return prompt + tok.decode(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt")
    ap.add_argument("--tokenizer", help="with --ckpt")
    ap.add_argument("--gguf")
    ap.add_argument("--prompt", default="once upon a time")
    ap.add_argument("-n", type=int, default=200)
    ap.add_argument("--temp", type=float, default=0.0)
    ap.add_argument("--top-k", type=int, default=20)
    ap.add_argument("--top-p", type=float, default=0.95)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--count", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(1)
    if a.gguf:
        model, tok, _ = export_gguf.load_gguf(a.gguf)
    else:
        model, tok = export_gguf.load_checkpoint(a.ckpt), bpe.Tokenizer.load(a.tokenizer)
    for i in range(a.count):
        print(generate(model, tok, a.prompt, a.n, a.temp, a.top_k, a.top_p, a.seed + i))
        print("---")


if __name__ == "__main__":
    main()
