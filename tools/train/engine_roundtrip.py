#!/usr/bin/python3
"""Export → engine round trip: the PyTorch model of model.py against smallthinker-cli.

A small randomly initialised SmallThinker (the trained model's architecture: sliding-window
layers in the 1:3 pattern, sigmoid top-k routing, tied head) is exported by export_gguf.py in
every weight type and both down layouts, each file is loaded back into PyTorch (dequantized
weights, so only the engine differs) and the engine's logits for a token sequence are compared
with PyTorch's float32 forward pass. This checks the exporter and the engine against a second,
independent implementation of the architecture (the NumPy reference being the first).

The weights are drawn at a trained model's scale (logit sd about 4). Tolerances: F32/F16/BF16
max |Δlogit| < 1e-3 with an F32 KV cache (measured about 1.5e-5: summation order only); Q8_0 and
Q4_0 mean KL(PyTorch || engine) < 0.06 and top-1 agreement ≥ 85% (measured KL 0.007-0.027, top-1
0.90-0.975): the engine quantizes activations to 8 bits for its Q8_0/Q4_0 dot products, as ggml
does, PyTorch does not, and in a random network the small differences flip some near-tied
top-k router choices. The exact bound for quantized files comes from the NumPy reference that
emulates the activation rounding (tests/e2e); this test catches layout and export mistakes,
which give KL of order 1.

  /usr/bin/python3 tools/train/engine_roundtrip.py --bin build
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "reference"))
import bpe  # noqa: E402
import compare_logits  # noqa: E402
import export_gguf  # noqa: E402
from model import Config, SmallThinker  # noqa: E402

TEXT = ("once upon a time, there was a little girl named lily. she loved to play outside in the sun. "
        "one day, she saw a big red ball. \"can i play with it?\" she asked her mom. the end.\n")

EXACT = ("f32", "f16", "bf16")


def engine_logits(bin_dir, path, ids, out, kv_type):
    cmd = [os.path.join(bin_dir, "smallthinker-cli"), "-m", path, "--token-ids", ",".join(map(str, ids)),
           "-n", "0", "--dump-logits", out, "-t", "1", "--kv-type", kv_type, "--temp", "0"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr}")
    return np.load(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, help="build folder with smallthinker-cli")
    ap.add_argument("--keep", help="write the files here instead of a temporary folder")
    a = ap.parse_args()
    torch.manual_seed(7)
    torch.set_num_threads(1)
    tokens, merges = bpe.train_bpe(TEXT * 4, 256 + 3 + 120)
    tok = bpe.Tokenizer(tokens, merges)
    cfg = Config(vocab_size=len(tok), n_layer=6, n_embd=96, n_head=4, n_head_kv=2, head_dim=32,
                 n_expert=8, n_expert_used=3, n_ff=64, context_length=128, sliding_window=8)
    model = SmallThinker(cfg).eval()
    with torch.no_grad():  # weights of a trained model's scale: logits spread over several units
        for name, p in model.named_parameters():
            if p.dim() == 1:
                p.uniform_(0.5, 1.5)                      # RMSNorm gains
            elif name.endswith("tok_embd.weight"):
                p.normal_(0.0, 0.4)
            else:
                p.normal_(0.0, 1.0 / np.sqrt(p.shape[-1]))  # 1 / sqrt(fan-in)
    ids = tok.encode(TEXT)[:40]
    assert len(ids) > 2 * cfg.sliding_window, "the sequence must be longer than the window"
    P = 32
    rng = np.random.default_rng(3)
    predictor = (rng.standard_normal((P, cfg.n_embd)).astype(np.float32),
                 rng.standard_normal((cfg.vocab_size, P)).astype(np.float32))
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        d = a.keep or tmp
        os.makedirs(d, exist_ok=True)
        for wt in ("f32", "f16", "bf16", "q8_0", "q4_0"):
            for transposed in (False, True):
                name = f"rt_{wt}_{'transposed' if transposed else 'normal'}"
                path = os.path.join(d, name + ".gguf")
                export_gguf.export(model, tok, path, wt, transposed, predictor)
                m2, _, _ = export_gguf.load_gguf(path)
                with torch.no_grad():
                    ref = m2(torch.tensor([ids]))[0][0].float().numpy()
                kv = "f32" if wt in EXACT else "f16"
                got = engine_logits(a.bin, path, ids, os.path.join(d, name + ".npy"), kv)
                s = compare_logits.compare(got, ref)
                if wt in EXACT:
                    ok = s["max_abs_diff"] < 1e-3 and s["top1_agreement"] == 1.0
                else:
                    ok = s["mean_kl"] < 0.06 and s["top1_agreement"] >= 0.85
                ok = ok and s["nonfinite_engine"] == 0
                spread = float(np.std(ref))
                failures += not ok
                print(f"{name:24s} max|Δ| {s['max_abs_diff']:.2e}  mean KL {s['mean_kl']:.2e}  "
                      f"top-1 {s['top1_agreement']:.3f}  logit sd {spread:.2f}  {'ok' if ok else 'FAIL'}", flush=True)
    if failures:
        print(f"{failures} variant(s) outside tolerance", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
