#!/usr/bin/python3
"""Statistics of the paper's mechanisms, measured on held-out text with a (shipped) GGUF model
loaded back into PyTorch with its dequantized weights.

  /usr/bin/python3 tools/train/stats.py --gguf models/tinystories-st-q8_0.gguf \
      --run tools/train/runs/ts8 --out tools/train/runs/ts8/stats

Writes stats.json, expert_heatmap.png (activation frequency per layer and expert, like the
paper's Figure 4) and neuron_sparsity.png (per-expert inactive-neuron fraction per layer, like
Figure 6). Measured:
  * neuron sparsity: for every (token, selected expert) the fraction of the expert's F ReGLU
    neurons with Gate_n·u <= 0 (exactly zero contribution: what the sparse kernel skips);
    averaged per expert; the median over experts per layer (paper: >= 0.6);
  * expert activation frequency: fraction of tokens that select expert e in layer l;
  * routing locality: how many of the k experts chosen for token t+1 were already chosen for
    token t (same layer, same sequence), and how often the whole set repeats;
  * the LM-head predictor in the file: recall of the true top-1 / top-10, rows selected;
  * held-out loss (nats/token) of the file's weights.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_gguf  # noqa: E402
import fit_predictor  # noqa: E402


@torch.no_grad()
def measure(model, ids, seq_len=256, batch=8):
    cfg = model.cfg
    L, X, k, Fd = cfg.n_layer, cfg.n_expert, cfg.n_expert_used, cfg.n_ff
    n = (len(ids) - 1) // seq_len
    inactive_sum = np.zeros((L, X))     # sum over routed tokens of inactive fraction
    routed = np.zeros((L, X))           # routed token count
    neuron_fire = np.zeros((L, X, Fd))  # per-neuron activation counts (for dead-neuron stats)
    same_cnt = np.zeros(L)
    overlap_sum = np.zeros(L)
    pairs = 0
    n_tok = 0
    nll = 0.0
    hs = []
    for i in range(0, n, batch):
        rows = range(i, min(n, i + batch))
        x = torch.from_numpy(np.stack([ids[r * seq_len:(r + 1) * seq_len] for r in rows]).astype(np.int64))
        y = torch.from_numpy(np.stack([ids[r * seq_len + 1:(r + 1) * seq_len + 1] for r in rows]).astype(np.int64))
        stats = {}
        h, rs, idxs = model.hidden(x, stats=stats)
        logits = h @ model.head_weight().t()
        nll += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum").item()
        hs.append(h.reshape(-1, h.shape[-1]))
        B, T = x.shape
        n_tok += B * T
        for il in range(L):
            for e, act in stats[il]["neuron_active"]:
                a = act.float()
                inactive_sum[il, e] += (1 - a.mean(1)).sum().item()
                routed[il, e] += a.shape[0]
                neuron_fire[il, e] += a.sum(0).numpy()
            sel = idxs[il].view(B, T, k)
            oh = torch.zeros(B, T, X, dtype=torch.bool).scatter_(2, sel, True)
            ov = (oh[:, 1:] & oh[:, :-1]).sum(-1).float()          # [B, T-1]
            overlap_sum[il] += ov.sum().item()
            same_cnt[il] += (ov == k).sum().item()
        pairs += B * (T - 1)
    freq = routed / n_tok
    sparsity = np.where(routed > 0, inactive_sum / np.maximum(routed, 1), np.nan)
    return {
        "n_tokens": n_tok,
        "heldout_loss": nll / n_tok,
        "expert_freq": freq,
        "sparsity": sparsity,
        "dead_neuron_frac": ((neuron_fire == 0) & (routed[..., None] > 0)).sum(-1) / Fd,
        "overlap_mean": overlap_sum / pairs / k,
        "same_set": same_cnt / pairs,
        "hidden": torch.cat(hs),
    }


def plots(res, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    freq = res["expert_freq"]
    L, X = freq.shape
    fig, ax = plt.subplots(figsize=(max(6, X * 0.45), max(3, L * 0.45)))
    im = ax.imshow(freq, cmap="viridis", aspect="auto", vmin=0, vmax=max(0.5, freq.max()))
    ax.set_xlabel("expert")
    ax.set_ylabel("layer")
    ax.set_xticks(range(X))
    ax.set_yticks(range(L))
    ax.set_title("expert activation frequency (held-out TinyStories)")
    fig.colorbar(im, ax=ax, label="fraction of tokens")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "expert_heatmap.png"), dpi=120)
    plt.close(fig)
    sp = res["sparsity"]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.boxplot([sp[il][~np.isnan(sp[il])] for il in range(L)], labels=[str(i) for i in range(L)])
    ax.axhline(0.6, color="gray", ls="--", lw=0.8)
    ax.set_xlabel("layer")
    ax.set_ylabel("inactive ReGLU neurons per expert")
    ax.set_ylim(0, 1)
    ax.set_title("neuron-level sparsity (fraction with Gate·u <= 0)")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "neuron_sparsity.png"), dpi=120)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gguf", required=True)
    ap.add_argument("--run", required=True, help="run folder with test_ids.npy")
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    os.makedirs(a.out, exist_ok=True)
    model, tok, pred = export_gguf.load_gguf(a.gguf)
    te = np.load(os.path.join(a.run, "test_ids.npy")).astype(np.int64)
    res = measure(model, te)
    freq, sp = res["expert_freq"], res["sparsity"]
    k = model.cfg.n_expert_used
    out = {
        "model": os.path.basename(a.gguf),
        "n_tokens": res["n_tokens"],
        "heldout_loss_nats": round(res["heldout_loss"], 4),
        "heldout_ppl": round(float(np.exp(res["heldout_loss"])), 3),
        "neuron_sparsity_median_per_layer": [round(float(np.nanmedian(s)), 4) for s in sp],
        "neuron_sparsity_min_per_layer": [round(float(np.nanmin(s)), 4) for s in sp],
        "neuron_sparsity_max_per_layer": [round(float(np.nanmax(s)), 4) for s in sp],
        "neuron_sparsity_median_all": round(float(np.nanmedian(sp)), 4),
        "dead_neurons_mean_per_layer": [round(float(d.mean()), 4) for d in res["dead_neuron_frac"]],
        "expert_freq": [[round(float(v), 4) for v in row] for row in freq],
        "expert_freq_uniform": k / model.cfg.n_expert,
        "experts_below_0.14": round(float((freq < 0.14).mean()), 4),
        "experts_0.4_or_more": round(float((freq >= 0.4).mean()), 4),
        "expert_freq_max_per_layer": [round(float(r.max()), 4) for r in freq],
        "expert_freq_min_per_layer": [round(float(r.min()), 4) for r in freq],
        "routing_reuse_fraction_per_layer": [round(float(v), 4) for v in res["overlap_mean"]],
        "routing_reuse_fraction_mean": round(float(res["overlap_mean"].mean()), 4),
        "routing_same_set_per_layer": [round(float(v), 4) for v in res["same_set"]],
        "routing_reuse_if_random": round(k / model.cfg.n_expert, 4),
    }
    if pred is not None:
        head = model.head_weight().detach()
        h = res["hidden"]
        top = fit_predictor.top_tokens(head, h)
        out["predictor"] = fit_predictor.evaluate(torch.from_numpy(pred[0]), torch.from_numpy(pred[1]), head, h, top)
        out["predictor"]["rank"] = int(pred[0].shape[0])
    with open(os.path.join(a.out, "stats.json"), "w") as f:
        json.dump(out, f, indent=1)
    try:
        plots(res, a.out)
    except ImportError as e:
        print("no plots:", e)
    print(json.dumps({k2: v for k2, v in out.items() if k2 != "expert_freq"}, indent=1))


if __name__ == "__main__":
    main()
