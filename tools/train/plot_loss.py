#!/usr/bin/python3
"""Plots train.py's log.csv (train and held-out loss against tokens seen) to a PNG.

  /usr/bin/python3 tools/train/plot_loss.py tools/train/runs/ts8/log.csv models/tinystories-st-loss.png
"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(src, dst):
    rows = list(csv.DictReader(open(src)))
    tok = [int(r["tokens"]) / 1e6 for r in rows]
    tr = [float(r["train_loss"]) for r in rows]
    vt = [(int(r["tokens"]) / 1e6, float(r["val_loss"])) for r in rows if r["val_loss"]]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(tok, tr, lw=1, label="train (mean over 25 steps, dropout on)")
    ax.plot([v[0] for v in vt], [v[1] for v in vt], "o-", ms=3, label="held-out")
    ax.set_xlabel("training tokens (millions)")
    ax.set_ylabel("cross-entropy (nats/token)")
    ax.set_ylim(min(tr + [v[1] for v in vt]) - 0.2, min(8.5, max(tr)))
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title("tiny SmallThinker on TinyStories (CPU, 1 thread)")
    fig.tight_layout()
    fig.savefig(dst, dpi=120)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
