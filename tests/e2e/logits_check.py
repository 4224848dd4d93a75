#!/usr/bin/env python3
"""End-to-end logits check: generate a model, run the engine, run the NumPy reference, compare.

  logits_check.py --bin BUILD_DIR --work DIR --type q4_0 --variant b [--emulate] [--kv-type f16]

Variants (tools/gen flags):
  a: normal down, tied head, sliding window 16 (2 NoPE/global + 6 RoPE/sliding layers), sigmoid key
  b: transposed down, separate output, no sliding window, softmax key, profiler rank 32
  c: normal down, separate output, window 16, gating key absent (= sigmoid), profiler, skewed
     experts (hot rate 0.45) and 70% ReGLU sparsity
  preset: the preset exactly as it is (used for the full-size shapes)
The prompt is 40 token ids (more than the window of 16) and 8 tokens are generated greedily.

Tolerances (documented in tests/README.md):
  f32/f16/bf16 weights: the engine computes in f32 with f32 activations; the reference in float64
    from the same dequantized weights. With --kv-type f32: max |dlogit| <= 1e-3 and identical
    greedy tokens.
  q8_0/q4_0 weights: the engine quantizes every matmul input to Q8_0 (as llama.cpp) and computes
    in f32. An activation within f32-vs-float64 rounding of a Q8_0 rounding boundary rounds the
    other way (a full quantization step, 1/127 of its block's maximum), and that small change can
    in turn flip a near-tie in the router's top-k, after which that position (and, through the
    global layers' KV cache, later ones) use a different expert. So the check is statistical, as
    the issue asks: mean KL(ref || engine) per position and top-1 agreement >= 95%.
      against the reference emulating the engine's Q8_0 inputs and F16 KV (--emulate): mean KL
        <= 1e-3 (measured: 5e-14 .. 5e-5; most positions agree to 1e-6 in the logits);
      against the plain float64 reference: mean KL <= 5e-3 (measured: 7e-9 .. 1.2e-3).
    Kernel-level bugs give KL far above these (the kernel tests check each kernel tightly).
  full-size shapes (--preset 4b/21b): with 32+ layers the first differently rounded activation
    makes engine and reference carry independent Q8_0 noise from there on (measured: emulation
    matches to 1.5e-5 with 1-2 layers of the 4B shape, but not at 32), so the check is the size of
    that noise: median over positions of rms(dlogit)/std(logits) <= 5% (measured 0.9%; the
    float64 reference without emulation differs from the emulating one by the same 0.9%) and
    top-1 agreement >= 95%.
"""
import argparse
import json
import os
import random
import subprocess
import sys

VARIANTS = {
    "preset": [],  # the preset's own layout (e.g. the real 4B: no window, tied, gating key absent)
    "a": ["--down", "normal", "--tied", "--sliding-window", "16", "--gating", "sigmoid"],
    "b": ["--down", "transposed", "--untied", "--sliding-window", "0", "--gating", "softmax", "--profiler-rank", "32"],
    "c": ["--down", "normal", "--untied", "--sliding-window", "16", "--gating", "absent", "--profiler-rank", "32",
          "--hot-expert-rate", "0.45", "--sparsity", "0.7"],
}
QUANTIZED = {"q8_0", "q4_0"}


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.stderr.write(f"command failed ({r.returncode}): {' '.join(cmd)}\n{r.stdout}\n{r.stderr}\n")
        sys.exit(1)
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--type", required=True)
    ap.add_argument("--variant", required=True, choices=sorted(VARIANTS))
    ap.add_argument("--kv-type", default="f32", choices=["f16", "f32", "q8_0"])
    ap.add_argument("--emulate", action="store_true", help="compare against the reference emulating engine numerics")
    ap.add_argument("--router-gating", default="auto")
    ap.add_argument("--preset", default="tiny")
    ap.add_argument("--gen-args", default="", help="extra generator flags (space separated)")
    ap.add_argument("--n-prompt", type=int, default=40)
    ap.add_argument("--n-predict", type=int, default=8)
    ap.add_argument("--threads", default="2")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--model", help="use this model file instead of generating one")
    ap.add_argument("--kernels", help="force this kernel table (ST_KERNELS); exit 77 (skipped) if the CPU lacks it")
    args = ap.parse_args()

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ref_dir = os.path.join(root, "tools", "reference")
    os.makedirs(args.work, exist_ok=True)
    tag = f"{args.preset}-{args.variant}-{args.type}"
    model = args.model or os.path.join(args.work, tag + ".gguf")
    if not args.model:
        run([os.path.join(args.bin, "smallthinker-gen"), "--preset", args.preset, "--type", args.type,
             "--seed", str(args.seed), "-o", model] + VARIANTS[args.variant] + args.gen_args.split())

    if args.kernels:
        os.environ["ST_KERNELS"] = args.kernels
        probe = subprocess.run([os.path.join(args.bin, "smallthinker-cli"), "-m", model, "--token-ids", "1", "-n", "1"],
                               capture_output=True, text=True)
        if probe.returncode != 0 and "does not support" in probe.stderr:
            print(f"skipped: {probe.stderr.strip()}")
            sys.exit(77)
    vocab = 512 if args.preset == "tiny" else 151936
    rng = random.Random(args.seed)
    prompt = [rng.randrange(vocab) for _ in range(args.n_prompt)]
    engine_npy = os.path.join(args.work, tag + f"-{args.kv_type}-engine.npy")
    r = run([os.path.join(args.bin, "smallthinker-cli"), "-m", model, "--token-ids", ",".join(map(str, prompt)),
             "-n", str(args.n_predict), "-t", args.threads, "--kv-type", args.kv_type,
             "--router-gating", args.router_gating, "--dump-logits", engine_npy])
    generated = [int(t) for t in r.stdout.strip().split(",") if t]
    assert len(generated) == args.n_predict, r.stdout

    ref_npy = os.path.join(args.work, tag + f"-{args.kv_type}-{'emu' if args.emulate else 'f64'}-ref.npy")
    ref_cmd = [sys.executable, os.path.join(ref_dir, "st_reference.py"), "-m", model,
               "--token-ids", ",".join(map(str, prompt + generated)), "-o", ref_npy,
               "--router-gating", args.router_gating]
    if args.emulate:
        ref_cmd += ["--emulate-engine", "--kv-type", args.kv_type]
    run(ref_cmd)

    cmp = [sys.executable, os.path.join(ref_dir, "compare_logits.py"), engine_npy, ref_npy]
    expect_tokens = ["--n-prompt", str(args.n_prompt), "--expect-tokens", ",".join(map(str, generated))]
    if args.type not in QUANTIZED:
        cmp += ["--max-abs", "1e-3"] + expect_tokens
    elif args.preset != "tiny":
        # Deep full-size models: once one activation rounds differently the two computations go
        # on with independent Q8_0 noise (see the docstring), so the check is the size of that noise.
        cmp += ["--max-median-rel-rms", "0.05", "--min-top1", "0.95"]
    else:
        # A near-tie may flip a greedy choice; agreement is measured instead (see the docstring).
        cmp += ["--max-mean-kl", "1e-3" if args.emulate else "5e-3", "--min-top1", "0.95"]
    r = subprocess.run(cmp, capture_output=True, text=True)
    sys.stdout.write(r.stdout)
    sys.stderr.write(r.stderr)
    sys.exit(r.returncode)


if __name__ == "__main__":
    main()
