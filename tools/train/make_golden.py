#!/usr/bin/python3
"""Golden logits for the shipped model's export/load round trip.

Loads the GGUF file back into PyTorch (dequantized weights, so only the engine differs), runs a
fixed token sequence from the held-out split and saves, in --out:
  token_ids.txt   comma-separated ids (the --token-ids argument of smallthinker-cli)
  token_ids.npy   int32 [n]
  logits.npy      float32 [n, V], PyTorch float32 forward pass, all positions
  meta.json       file name, sha256, text, argmax per position

  /usr/bin/python3 tools/train/make_golden.py --gguf models/tinystories-st-q8_0.gguf \
      --run tools/train/runs/ts8 --out tests/data/shipped_golden
"""
import argparse
import hashlib
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
import export_gguf  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gguf", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--story", type=int, default=0, help="index of the held-out story to use")
    ap.add_argument("--n-tokens", type=int, default=96,
                    help="more than the trained model's sliding window (64), so the window is exercised")
    a = ap.parse_args()
    torch.set_num_threads(1)
    model, tok, pred = export_gguf.load_gguf(a.gguf)
    _, test = data.split_stories(data.load_stories())
    ids = tok.encode(test[a.story])[: a.n_tokens]
    if len(ids) < a.n_tokens:
        sys.exit(f"held-out story {a.story} has only {len(ids)} tokens; choose another --story")
    x = torch.tensor([ids])
    with torch.no_grad():
        h, _, _ = model.hidden(x)
        logits = (h @ model.head_weight().t())[0].float().numpy()
    os.makedirs(a.out, exist_ok=True)
    np.save(os.path.join(a.out, "logits.npy"), logits.astype(np.float32))
    np.save(os.path.join(a.out, "token_ids.npy"), np.array(ids, dtype=np.int32))
    with open(os.path.join(a.out, "token_ids.txt"), "w") as f:
        f.write(",".join(map(str, ids)) + "\n")
    meta = {"gguf": os.path.basename(a.gguf),
            "gguf_sha256": hashlib.sha256(open(a.gguf, "rb").read()).hexdigest(),
            "text": tok.decode(ids), "n_tokens": len(ids), "vocab": logits.shape[1],
            "argmax": logits.argmax(-1).tolist(),
            "argmax_text": [tok.decode([int(i)]) for i in logits.argmax(-1)]}
    if pred is not None:
        s = (h[0] @ torch.from_numpy(pred[0]).t()) @ torch.from_numpy(pred[1]).t()
        sel = (s > 0).numpy()
        meta["predictor_rows_selected"] = sel.sum(1).tolist()
    with open(os.path.join(a.out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(json.dumps({k: v for k, v in meta.items() if k != "argmax"}, indent=1))


if __name__ == "__main__":
    main()
