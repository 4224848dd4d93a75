#!/usr/bin/python3
"""Fits the LM-head predictor of docs/smallthinker-spec.md §5.2 for a trained tiny SmallThinker.

The predictor is two bias-free matrices, W1 (P × E) and W2 (V × P): for the final hidden state x
(after output_norm, the LM head's input) z = W1·x, s = W2·z, and vocabulary row v is computed iff
s_v > 0 (an engine sets the other logits to 0). We fit it on hidden states of training text:

  1. initialise with the rank-P truncated SVD of the LM head (s ≈ logits, low rank);
  2. train with a weighted binary cross-entropy on "v is among the true top-K tokens" (K = 10),
     the true top-1 token weighted more, negatives weighted 1, so the sign of s_v selects the true
     top tokens and few others. There is no bias term in the format; the network uses directions
     of x that are nearly constant across tokens as one.

Reports on held-out text (the test split): recall of the true top-1 and top-10 tokens in the
selected set, mean fraction of rows selected, and how often greedy decoding with the unselected
logits set to 0 (the FORK's convention) still picks the true argmax.

  /usr/bin/python3 tools/train/fit_predictor.py --ckpt runs/ts8/best.pt --run runs/ts8 --rank 64 \
      --out runs/ts8/predictor.pt
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_io as G  # noqa: E402

TOPK = 10


@torch.no_grad()
def collect_hidden(model, ids, seq_len=256, max_tokens=None, batch=16):
    """Final normalized hidden states for ids cut into non-overlapping windows of seq_len."""
    model.eval()
    n = (len(ids) - 1) // seq_len
    if max_tokens:
        n = min(n, max(1, max_tokens // seq_len))
    hs = []
    for i in range(0, n, batch):
        rows = range(i, min(n, i + batch))
        x = torch.from_numpy(np.stack([ids[r * seq_len:(r + 1) * seq_len] for r in rows]).astype(np.int64))
        h, _, _ = model.hidden(x)
        hs.append(h.reshape(-1, h.shape[-1]))
    return torch.cat(hs)


@torch.no_grad()
def top_tokens(head, h, k=TOPK, chunk=8192):
    out = []
    for i in range(0, h.shape[0], chunk):
        out.append((h[i:i + chunk] @ head.t()).topk(k, dim=-1)[1])
    return torch.cat(out)


@torch.no_grad()
def evaluate(W1, W2, head, h, top, chunk=8192):
    """Recall of top-1 / top-10, mean selected fraction, greedy agreement with zeroed unselected."""
    r1 = r10 = sel = agree = 0.0
    n = h.shape[0]
    for i in range(0, n, chunk):
        hh = h[i:i + chunk]
        s = (hh @ W1.t()) @ W2.t()
        m = s > 0
        tk = top[i:i + chunk]
        hit = m.gather(1, tk)
        r1 += hit[:, 0].float().sum().item()
        r10 += hit.float().mean(1).sum().item()
        sel += m.float().mean(1).sum().item()
        logits = hh @ head.t()
        masked = torch.where(m, logits, torch.zeros_like(logits))
        agree += (masked.argmax(-1) == tk[:, 0]).float().sum().item()
    return {"recall_top1": r1 / n, "recall_top10": r10 / n, "rows_selected": sel / n,
            "greedy_agreement_zeroed": agree / n, "n_tokens": n}


def fit(head, h_train, top_train, rank=64, steps=2000, lr=3e-3, batch=2048, pos_w=300.0, top1_w=3000.0,
        neg_w=1.0, seed=0, log=None):
    torch.manual_seed(seed)
    V, E = head.shape
    U, S, Vh = torch.linalg.svd(head, full_matrices=False)
    W2 = torch.nn.Parameter((U[:, :rank] * S[:rank].sqrt()).clone())
    W1 = torch.nn.Parameter((Vh[:rank] * S[:rank, None].sqrt()).clone())
    opt = torch.optim.Adam([W1, W2], lr=lr)
    n = h_train.shape[0]
    for step in range(steps):
        idx = torch.randint(0, n, (batch,))
        x = h_train[idx]
        tk = top_train[idx]
        s = (x @ W1.t()) @ W2.t()
        y = torch.zeros_like(s).scatter_(1, tk, 1.0)
        wgt = torch.full_like(s, neg_w).scatter_(1, tk, pos_w)
        wgt.scatter_(1, tk[:, :1], top1_w)
        loss = F.binary_cross_entropy_with_logits(s, y, weight=wgt, reduction="sum") / batch
        opt.zero_grad()
        loss.backward()
        opt.step()
        for g in opt.param_groups:
            g["lr"] = lr * 0.5 * (1 + np.cos(np.pi * (step + 1) / steps))
        if log and (step % 500 == 0 or step == steps - 1):
            log(f"step {step} loss {loss.item():.4f}")
    return W1.detach(), W2.detach()


def quantized(W, t):
    """W after a round trip through ggml type t (rows are quantized as consecutive blocks)."""
    a = W.numpy().astype(np.float32)
    return torch.from_numpy(G.decode_tensor(G.encode_tensor(a, t), t, a.size).reshape(a.shape))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", help="train.py checkpoint (best.pt)")
    ap.add_argument("--gguf", help="or: read the model from a GGUF file")
    ap.add_argument("--run", required=True, help="run folder with train_ids.npy / test_ids.npy")
    ap.add_argument("--rank", type=int, default=64)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--train-tokens", type=int, default=131072)
    ap.add_argument("--pos-w", type=float, default=300.0)
    ap.add_argument("--top1-w", type=float, default=3000.0)
    ap.add_argument("--type", default="q8_0", help="weight type to also evaluate the quantized predictor")
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    import export_gguf  # noqa: E402
    model = export_gguf.load_checkpoint(a.ckpt) if a.ckpt else export_gguf.load_gguf(a.gguf)[0]
    head = model.head_weight().detach()
    tr = np.load(os.path.join(a.run, "train_ids.npy")).astype(np.int64)
    te = np.load(os.path.join(a.run, "test_ids.npy")).astype(np.int64)
    t0 = time.time()
    # training hidden states: evenly spread windows of the training split
    rng = np.random.default_rng(0)
    nwin = a.train_tokens // 256
    starts = np.sort(rng.choice((len(tr) - 257) // 256, nwin, replace=False)) * 256
    tr_sel = np.concatenate([tr[s:s + 256] for s in starts])
    h_tr = collect_hidden(model, np.append(tr_sel, 0))
    h_te = collect_hidden(model, te)
    top_tr, top_te = top_tokens(head, h_tr), top_tokens(head, h_te)
    print(f"hidden states: train {h_tr.shape[0]}, test {h_te.shape[0]} ({time.time() - t0:.0f} s)", flush=True)
    W1, W2 = fit(head, h_tr, top_tr, rank=a.rank, steps=a.steps, pos_w=a.pos_w, top1_w=a.top1_w,
                 log=lambda s: print(s, flush=True))
    res = {"rank": a.rank, "float": evaluate(W1, W2, head, h_te, top_te)}
    t = G.TYPE_BY_NAME[a.type]
    res[a.type] = evaluate(quantized(W1, t), quantized(W2, t), head, h_te, top_te)
    U, S, Vh = torch.linalg.svd(head, full_matrices=False)
    res["svd_init_float"] = evaluate(Vh[:a.rank] * S[:a.rank, None].sqrt(), U[:, :a.rank] * S[:a.rank].sqrt(),
                                     head, h_te, top_te)
    print(json.dumps(res, indent=1))
    torch.save({"W1": W1, "W2": W2, "rank": a.rank, "eval": res}, a.out)
    with open(os.path.splitext(a.out)[0] + ".json", "w") as f:
        json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
