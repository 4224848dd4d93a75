#!/usr/bin/python3
"""Compares engine logits with reference logits (both .npy, [n_positions, V]).

    /usr/bin/python3 tools/reference/compare_logits.py ENGINE.npy REFERENCE.npy \
        [--max-abs X] [--max-mean-kl X] [--min-top1 X] [--expect-tokens 5,6,7 --n-prompt N]

Prints one JSON object: max and mean |Δlogit|, per-position KL(reference || engine) over the
softmax (float64, log-sum-exp), its mean and max, top-1 agreement, and the argmax of both per
position. Exit status: 0 when every requested check holds, 1 when one fails (each failure is
also printed to stderr), 2 for unusable input (missing file, shape mismatch). Non-finite logits
in either file always fail.

--expect-tokens: the engine's greedy tokens after a prompt of --n-prompt tokens; the reference's
argmax at positions n_prompt-1, n_prompt, ... must equal them in order.
"""

import argparse
import json
import sys

import numpy as np


def log_softmax(a):
    a = np.asarray(a, dtype=np.float64)
    m = a.max(axis=-1, keepdims=True)
    return a - m - np.log(np.sum(np.exp(a - m), axis=-1, keepdims=True))


def compare(engine, reference):
    """The statistics as a dict (engine and reference: [n, V] arrays of the same shape)."""
    e = np.asarray(engine, dtype=np.float64)
    r = np.asarray(reference, dtype=np.float64)
    stats = {"n_positions": int(r.shape[0]), "vocab": int(r.shape[1])}
    stats["nonfinite_engine"] = int(np.size(e) - np.count_nonzero(np.isfinite(e)))
    stats["nonfinite_reference"] = int(np.size(r) - np.count_nonzero(np.isfinite(r)))
    diff = np.abs(e - r)
    stats["max_abs_diff"] = float(diff.max())
    stats["mean_abs_diff"] = float(diff.mean())
    lr, le = log_softmax(r), log_softmax(e)
    kl = np.sum(np.exp(lr) * (lr - le), axis=-1)
    kl = np.maximum(kl, 0.0)  # KL >= 0; rounding can leave -1e-17
    stats["kl_per_position"] = [float(v) for v in kl]
    stats["mean_kl"] = float(kl.mean())
    stats["max_kl"] = float(kl.max())
    # Relative RMS error per position: rms(engine - reference) / std(reference). Robust to the
    # peaky distributions of random models, where KL says nothing.
    rel = np.sqrt(np.mean((e - r) ** 2, axis=-1)) / np.maximum(np.std(r, axis=-1), 1e-30)
    stats["rel_rms_per_position"] = [float(v) for v in rel]
    stats["median_rel_rms"] = float(np.median(rel))
    am_e, am_r = np.argmax(e, axis=-1), np.argmax(r, axis=-1)
    stats["top1_agreement"] = float(np.mean(am_e == am_r))
    stats["argmax_engine"] = am_e.tolist()
    stats["argmax_reference"] = am_r.tolist()
    return stats


class InputError(Exception):
    """An input file that cannot be compared."""


def _load(path, what):
    try:
        a = np.load(path)
    except (OSError, ValueError) as err:
        raise InputError(f"cannot read {what} {path}: {err}")
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2 or a.shape[0] == 0 or a.shape[1] == 0:
        raise InputError(f"{what} {path}: expected shape [n_positions, V], got {list(a.shape)}")
    return a


def main(argv=None):
    ap = argparse.ArgumentParser(description="Compare engine logits against reference logits.")
    ap.add_argument("engine", help="engine logits .npy [n_positions, V]")
    ap.add_argument("reference", help="reference logits .npy [n_positions, V]")
    ap.add_argument("--max-abs", type=float, help="fail if max |Δlogit| exceeds this")
    ap.add_argument("--max-mean-kl", type=float, help="fail if mean KL(ref || engine) exceeds this")
    ap.add_argument("--min-top1", type=float, help="fail if top-1 agreement is below this (0..1)")
    ap.add_argument("--max-median-rel-rms", type=float,
                    help="fail if the median over positions of rms(Δlogit)/std(reference logits) exceeds this")
    ap.add_argument("--expect-tokens", help="engine's greedy tokens, comma-separated")
    ap.add_argument("--n-prompt", type=int, help="prompt length for --expect-tokens")
    args = ap.parse_args(argv)
    if args.expect_tokens is not None and args.n_prompt is None:
        ap.error("--expect-tokens needs --n-prompt")

    try:
        engine = _load(args.engine, "engine logits")
        reference = _load(args.reference, "reference logits")
    except InputError as err:
        print(f"compare_logits: {err}", file=sys.stderr)
        return 2
    if engine.shape != reference.shape:
        print(f"compare_logits: shape mismatch: engine {list(engine.shape)}, reference "
              f"{list(reference.shape)}", file=sys.stderr)
        return 2

    stats = compare(engine, reference)
    failures = []
    if stats["nonfinite_engine"] or stats["nonfinite_reference"]:
        failures.append(f"non-finite logits: engine {stats['nonfinite_engine']}, reference "
                        f"{stats['nonfinite_reference']}")
    if args.max_abs is not None and not stats["max_abs_diff"] <= args.max_abs:
        failures.append(f"max |Δlogit| {stats['max_abs_diff']:.6g} > allowed {args.max_abs:g}")
    if args.max_mean_kl is not None and not stats["mean_kl"] <= args.max_mean_kl:
        failures.append(f"mean KL {stats['mean_kl']:.6g} > allowed {args.max_mean_kl:g}")
    if args.max_median_rel_rms is not None and not stats["median_rel_rms"] <= args.max_median_rel_rms:
        failures.append(f"median relative RMS error {stats['median_rel_rms']:.6g} > allowed "
                        f"{args.max_median_rel_rms:g}")
    if args.min_top1 is not None and not stats["top1_agreement"] >= args.min_top1:
        failures.append(f"top-1 agreement {stats['top1_agreement']:.4f} < required "
                        f"{args.min_top1:g}")
    if args.expect_tokens is not None:
        try:
            expected = [int(s) for s in args.expect_tokens.split(",") if s.strip() != ""]
        except ValueError:
            ap.error(f"--expect-tokens: expected comma-separated integers, got "
                     f"{args.expect_tokens!r}")
        first = args.n_prompt - 1
        last = first + len(expected) - 1
        ref_tokens = stats["argmax_reference"][max(first, 0):last + 1]
        stats["expected_tokens"] = expected
        stats["reference_tokens"] = ref_tokens
        if first < 0:
            failures.append(f"--n-prompt {args.n_prompt}: must be at least 1")
        elif last >= stats["n_positions"]:
            failures.append(f"--expect-tokens: {len(expected)} tokens after a prompt of "
                            f"{args.n_prompt} need positions {first}..{last}, the logits have "
                            f"{stats['n_positions']}")
        elif ref_tokens != expected:
            i = next(i for i, (a, b) in enumerate(zip(ref_tokens, expected)) if a != b)
            failures.append(f"greedy tokens differ at generated token {i} (position "
                            f"{first + i}): reference argmax {ref_tokens[i]}, engine "
                            f"{expected[i]}; reference {ref_tokens}, engine {expected}")
    stats["failures"] = failures
    print(json.dumps(stats))
    for f in failures:
        print(f"compare_logits: FAIL: {f}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
