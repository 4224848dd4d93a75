#!/usr/bin/python3
"""Trains a tiny SmallThinker (model.py) on TinyStories, on CPU, resumably.

  OPENBLAS_NUM_THREADS=1 nohup nice -n 10 /usr/bin/python3 tools/train/train.py \
      --out tools/train/runs/ts8 --steps 3000 > tools/train/runs/ts8.log 2>&1 &

Writes into --out: tokenizer.json (trained on the training split unless --tokenizer is given),
config.json, train_ids.npy / test_ids.npy, log.csv (step, tokens, elapsed_s, lr, train_loss,
aux_loss, val_loss, cpu_s), ckpt.pt (latest: model, optimizer, step; resumed automatically) and best.pt
(model weights with the lowest held-out loss so far).
"""
import argparse
import csv
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe  # noqa: E402
import data  # noqa: E402
from model import Config, SmallThinker, load_balance_loss  # noqa: E402


def get_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--corpus", default=data.DEFAULT_CORPUS)
    ap.add_argument("--tokenizer", default=None, help="existing tokenizer.json (else trained)")
    ap.add_argument("--vocab-size", type=int, default=4096)
    ap.add_argument("--n-layer", type=int, default=8)
    ap.add_argument("--n-embd", type=int, default=256)
    ap.add_argument("--n-head", type=int, default=4)
    ap.add_argument("--n-head-kv", type=int, default=2)
    ap.add_argument("--head-dim", type=int, default=64)
    ap.add_argument("--n-expert", type=int, default=16)
    ap.add_argument("--n-expert-used", type=int, default=4)
    ap.add_argument("--n-ff", type=int, default=128)
    ap.add_argument("--context", type=int, default=512, help="context_length written to the model")
    ap.add_argument("--seq-len", type=int, default=256, help="training window length")
    ap.add_argument("--sliding-window", type=int, default=64)
    ap.add_argument("--rope-theta", type=float, default=10000.0)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--min-lr", type=float, default=1e-4)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--aux-coef", type=float, default=0.01, help="load-balance loss coefficient")
    ap.add_argument("--aux-groups", type=int, default=1,
                    help="balance groups per batch (1 = whole global batch, the relaxed variant)")
    ap.add_argument("--story-start-frac", type=float, default=0.5,
                    help="fraction of windows that begin at a story start")
    ap.add_argument("--eval-every", type=int, default=150)
    ap.add_argument("--eval-windows", type=int, default=0, help="0 = all test windows")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quiet", action="store_true")
    return ap.parse_args(argv)


def lr_at(step, a):
    if step < a.warmup:
        return a.lr * (step + 1) / a.warmup
    t = min(1.0, (step - a.warmup) / max(1, a.steps - a.warmup))
    return a.min_lr + 0.5 * (a.lr - a.min_lr) * (1 + math.cos(math.pi * t))


def prepare(a):
    os.makedirs(a.out, exist_ok=True)
    stories = data.load_stories(a.corpus)
    train_st, test_st = data.split_stories(stories)
    tok_path = os.path.join(a.out, "tokenizer.json")
    if a.tokenizer:
        tok = bpe.Tokenizer.load(a.tokenizer)
        tok.save(tok_path)
    elif os.path.exists(tok_path):
        tok = bpe.Tokenizer.load(tok_path)
    else:
        tokens, merges = bpe.train_bpe("\n\n".join(train_st), a.vocab_size)
        tok = bpe.Tokenizer(tokens, merges)
        tok.save(tok_path)
    tr = os.path.join(a.out, "train_ids.npy")
    te = os.path.join(a.out, "test_ids.npy")
    if not os.path.exists(tr):
        np.save(tr, data.encode_stories(tok, train_st))
        np.save(te, data.encode_stories(tok, test_st))
    return tok, np.load(tr).astype(np.int64), np.load(te).astype(np.int64)


def make_config(a, vocab):
    return Config(vocab_size=vocab, n_layer=a.n_layer, n_embd=a.n_embd, n_head=a.n_head,
                  n_head_kv=a.n_head_kv, head_dim=a.head_dim, n_expert=a.n_expert,
                  n_expert_used=a.n_expert_used, n_ff=a.n_ff,
                  context_length=max(a.context, a.seq_len), sliding_window=a.sliding_window,
                  rope_theta=a.rope_theta, dropout=a.dropout)


def get_batch(ids, starts_story, a, step):
    g = np.random.default_rng(a.seed * 1000003 + step)
    T = a.seq_len
    n = len(ids) - T - 1
    xs = []
    for _ in range(a.batch):
        if g.random() < a.story_start_frac:
            s = int(starts_story[g.integers(len(starts_story))])
            s = min(s, n)
        else:
            s = int(g.integers(n))
        xs.append(ids[s:s + T + 1])
    b = torch.from_numpy(np.stack(xs))
    return b[:, :-1], b[:, 1:]


@torch.no_grad()
def evaluate(model, test_ids, a):
    model.eval()
    T = a.seq_len
    nw = (len(test_ids) - 1) // T
    if a.eval_windows:
        nw = min(nw, a.eval_windows)
    tot, cnt = 0.0, 0
    for i in range(0, nw, 16):
        rows = range(i, min(nw, i + 16))
        x = torch.from_numpy(np.stack([test_ids[r * T:r * T + T] for r in rows]))
        y = torch.from_numpy(np.stack([test_ids[r * T + 1:r * T + T + 1] for r in rows]))
        logits, _, _ = model(x)
        tot += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum").item()
        cnt += y.numel()
    model.train()
    return tot / cnt


def param_groups(model, wd):
    decay, no_decay = [], []
    for n, p in model.named_parameters():
        (decay if p.dim() >= 2 else no_decay).append(p)
    return [{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}]


def train(a):
    torch.set_num_threads(a.threads)
    tok, train_ids, test_ids = prepare(a)
    cfg = make_config(a, len(tok))
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump({"model": cfg.to_dict(), "args": vars(a)}, f, indent=1)
    torch.manual_seed(a.seed)
    model = SmallThinker(cfg)
    opt = torch.optim.AdamW(param_groups(model, a.weight_decay), lr=a.lr, betas=(0.9, 0.95), eps=1e-8)
    starts = np.concatenate([[0], np.nonzero(train_ids == tok.eot_id)[0] + 1])
    starts = starts[starts < len(train_ids) - 2]
    ckpt_path = os.path.join(a.out, "ckpt.pt")
    log_path = os.path.join(a.out, "log.csv")
    step, elapsed, best, cpu0 = 0, 0.0, float("inf"), 0.0
    if os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step, elapsed, best = ck["step"], ck["elapsed"], ck["best"]
        cpu0 = ck.get("cpu", 0.0)
        if not a.quiet:
            print(f"resumed at step {step} ({elapsed:.0f} s)", flush=True)
    header = ["step", "tokens", "elapsed_s", "lr", "train_loss", "aux_loss", "val_loss", "cpu_s"]
    old_rows = []
    if step > 0 and os.path.exists(log_path):
        with open(log_path, newline="") as f:   # keep rows up to the checkpoint (older logs lack cpu_s)
            old_rows = [r for r in csv.DictReader(f) if int(r["step"]) <= step]
    logf = open(log_path, "w", newline="")
    w = csv.writer(logf)
    w.writerow(header)
    for r in old_rows:
        w.writerow([r.get(h, "") or "" for h in header])
    n_params = sum(p.numel() for p in model.parameters())
    if not a.quiet:
        print(f"params {n_params}, train tokens {len(train_ids)}, test tokens {len(test_ids)}", flush=True)
    model.train()
    t_last = time.time()
    cpu_start = time.process_time()   # process CPU time (includes evaluation), all threads
    run_loss, run_aux, run_n = 0.0, 0.0, 0
    losses = []
    while step < a.steps:
        lr = lr_at(step, a)
        for gr in opt.param_groups:
            gr["lr"] = lr
        x, y = get_batch(train_ids, starts, a, step)
        logits, rs, idxs = model(x)
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        aux = load_balance_loss(rs, idxs, cfg.n_expert, a.aux_groups)
        loss = ce + a.aux_coef * aux
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        run_loss += ce.item()
        run_aux += aux.item()
        run_n += 1
        losses.append(ce.item())
        now = time.time()
        elapsed += now - t_last
        t_last = now
        last = step == a.steps
        if step % a.eval_every == 0 or last or step % 25 == 0:
            val = ""
            if step % a.eval_every == 0 or last:
                val = evaluate(model, test_ids, a)
                t_last = time.time()  # eval time is not training time
            w.writerow([step, step * a.batch * a.seq_len, f"{elapsed:.1f}", f"{lr:.6g}",
                        f"{run_loss / run_n:.4f}", f"{run_aux / run_n:.4f}",
                        f"{val:.4f}" if val != "" else "",
                        f"{cpu0 + time.process_time() - cpu_start:.1f}"])
            logf.flush()
            if not a.quiet:
                print(f"step {step} lr {lr:.2e} loss {run_loss / run_n:.4f} aux {run_aux / run_n:.4f}"
                      + (f" val {val:.4f}" if val != "" else "") + f" t {elapsed:.0f}s", flush=True)
            run_loss, run_aux, run_n = 0.0, 0.0, 0
            if val != "":
                if val < best:
                    best = val
                    torch.save({"model": model.state_dict(), "config": cfg.to_dict(), "step": step,
                                "val": val}, os.path.join(a.out, "best.pt"))
                torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step,
                            "elapsed": elapsed, "best": best, "config": cfg.to_dict(),
                            "cpu": cpu0 + time.process_time() - cpu_start},
                           ckpt_path + ".tmp")
                os.replace(ckpt_path + ".tmp", ckpt_path)
    torch.save({"model": model.state_dict(), "config": cfg.to_dict(), "step": step},
               os.path.join(a.out, "final.pt"))
    logf.close()
    return model, losses


if __name__ == "__main__":
    train(get_args())
