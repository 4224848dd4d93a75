#!/usr/bin/python3
"""The independent reference for SmallThinker: docs/smallthinker-spec.md §4 in executable form.

Reads a SmallThinker GGUF with its own reader (gguf_read.py), runs the forward pass in float64 over
a whole token sequence (teacher forcing: position p sees tokens 0..p) and returns the logits after
every position, [n_tokens, V]. It shares no code with the C++ engine.

    /usr/bin/python3 tools/reference/st_reference.py -m MODEL.gguf --token-ids 1,2,3 -o logits.npy \
        [--emulate-engine] [--kv-type f16|f32|q8_0] [--router-gating auto|softmax|sigmoid]

Dimensions (spec §1):
    n   tokens in the sequence          E   hidden size (embedding_length)
    V   vocabulary (token_embd ne[1])   Dh  key head dim (attention.key_length)
    Dv  value head dim (value_length)   H   n_head * Dh     K = n_head_kv * Dh
    F   expert width                    X   experts          k  experts used per token
Weights are numpy arrays in row-major order: ne {in, out} is shape (out, in); an expert stack
ne {E, F, X} is shape (X, F, E).

Precision. By default everything is float64 and the KV cache is exact. --emulate-engine adds the
engine's deliberate losses so quantized-weight comparisons can be tight:
  (a) every matmul whose weight is Q4_0 or Q8_0 first rounds its input vector to Q8_0 (blocks of
      32, ggml's rounding; quants.q8_0_roundtrip). The transposed expert down is an axpy of
      dequantized rows and is not affected; float weights (the router) are not affected.
  (b) keys (after RoPE) and values are rounded to the KV type (default f16) as they are cached.
Memory: tensor bytes stay mapped on disk; the sequence is processed layer by layer, so only one
layer's attention matrices and one expert's three matrices are dequantized at a time, each
selected expert once per layer; the LM head is dequantized in slices of rows.
"""

import argparse
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import quants                                   # noqa: E402
from gguf_read import GGUFError, GGUFFile       # noqa: E402

ARCH = "smallthinker"
GATING_SOFTMAX, GATING_SIGMOID = "softmax", "sigmoid"
LM_HEAD_ROWS_PER_SLICE = 8192


class ModelError(Exception):
    """A GGUF that is not a SmallThinker model this reference can run."""


# ---- configuration (spec §2) -------------------------------------------------------------------

class Config:
    """Hyperparameters read from the `smallthinker.` keys (plus shapes checked against tensors)."""

    def __init__(self, g, router_gating="auto"):
        arch = g.get("general.architecture")
        if arch != ARCH:
            raise ModelError(f"{g.path}: general.architecture is {arch!r}, expected {ARCH!r}")
        p = ARCH + "."

        def key(name, default=None, required=True):
            v = g.get(p + name)
            if v is None:
                if required and default is None:
                    raise ModelError(f"{g.path}: missing metadata key '{p + name}'")
                return default
            if isinstance(v, list):
                if len(set(v)) != 1:
                    raise ModelError(f"{g.path}: '{p + name}' differs per layer ({v}); "
                                     "not supported")
                v = v[0]
            return v

        self.n_layer = int(key("block_count"))
        self.n_embd = int(key("embedding_length"))                          # E
        self.n_head = int(key("attention.head_count"))
        self.n_head_kv = int(key("attention.head_count_kv", self.n_head))
        self.rms_eps = float(key("attention.layer_norm_rms_epsilon"))
        self.rope_theta = float(key("rope.freq_base"))
        self.n_expert = int(key("expert_count"))                            # X
        self.n_expert_used = int(key("expert_used_count"))                  # k
        self.n_ff_exp = key("expert_feed_forward_length", required=False)   # F
        if self.n_ff_exp is None:
            self.n_ff_exp = key("feed_forward_length", required=False)
        self.context_length = key("context_length", required=False)
        self.sliding_window = int(key("attention.sliding_window", 0, required=False))

        # Dh from attention.key_length, never E / n_head. A file without the key: the K
        # projection's width / n_head_kv (what the file itself says), with a note.
        dh = key("attention.key_length", required=False)
        if dh is None:
            k_t = g.tensors.get("blk.0.attn_k.weight")
            if k_t is None or k_t.ne[1] % self.n_head_kv:
                raise ModelError(f"{g.path}: missing metadata key '{p}attention.key_length'")
            dh = k_t.ne[1] // self.n_head_kv
            print(f"st_reference: note: no {p}attention.key_length; Dh = {dh} from "
                  "blk.0.attn_k.weight", file=sys.stderr)
        self.head_dim = int(dh)                                              # Dh
        self.value_dim = int(key("attention.value_length", self.head_dim, required=False))  # Dv

        gating_key = g.get(p + "expert_gating_func")
        if router_gating == "auto":
            if gating_key is None:
                self.gating, self.gating_source = GATING_SIGMOID, "key absent"
            elif gating_key == 1:
                self.gating, self.gating_source = GATING_SOFTMAX, "expert_gating_func=1"
            elif gating_key == 2:
                self.gating, self.gating_source = GATING_SIGMOID, "expert_gating_func=2"
            else:
                raise ModelError(f"{g.path}: {p}expert_gating_func = {gating_key}: expected 1 "
                                 "(softmax) or 2 (sigmoid)")
        elif router_gating in (GATING_SOFTMAX, GATING_SIGMOID):
            self.gating, self.gating_source = router_gating, "--router-gating"
        else:
            raise ValueError(f"router gating {router_gating!r}: expected auto|softmax|sigmoid")

        if self.n_head <= 0 or self.n_head_kv <= 0 or self.n_head % self.n_head_kv:
            raise ModelError(f"{g.path}: head_count {self.n_head} is not a multiple of "
                             f"head_count_kv {self.n_head_kv}")
        if self.head_dim % 2:
            raise ModelError(f"{g.path}: key_length {self.head_dim} is odd; RoPE needs pairs")
        if not 0 < self.n_expert_used <= self.n_expert:
            raise ModelError(f"{g.path}: expert_used_count {self.n_expert_used} not in "
                             f"1..expert_count {self.n_expert}")

    # Spec §4: with attention.sliding_window > 0, layers il % 4 == 0 are NoPE + global, the
    # others RoPE + sliding; without it every layer is RoPE + global.
    def uses_rope(self, il):
        return self.sliding_window <= 0 or il % 4 != 0

    def window(self, il):
        """The sliding window of layer il, or 0 for a global layer."""
        return self.sliding_window if (self.sliding_window > 0 and il % 4 != 0) else 0


# ---- weights (spec §3) -------------------------------------------------------------------------

class Model:
    """The mapped GGUF, its Config, and the tensors bound by name with their shapes checked."""

    def __init__(self, path, router_gating="auto"):
        self.gguf = g = GGUFFile(path)
        self.cfg = c = Config(g, router_gating)
        E, Dh, Dv, X = c.n_embd, c.head_dim, c.value_dim, c.n_expert
        H, K, Hv, Kv = c.n_head * Dh, c.n_head_kv * Dh, c.n_head * Dv, c.n_head_kv * Dv

        self.token_embd = self._need("token_embd.weight")                   # ne {E, V}
        self.vocab = self.token_embd.ne[1] if len(self.token_embd.ne) == 2 else -1
        self._check(self.token_embd, (E, self.vocab))
        self.output_norm = self._need("output_norm.weight", (E,))
        # Tied head when output.weight is absent. lm_head_profiler.weight (FORK's LM-head
        # predictor, spec §5.2) is ignored: the reference always computes the full dense head.
        self.output = g.tensors.get("output.weight", self.token_embd)        # ne {E, V}
        self.tied_output = "output.weight" not in g.tensors
        self._check(self.output, (E, self.vocab))

        self.layers = []
        for il in range(c.n_layer):
            b = f"blk.{il}."
            if b + "ffn_gate_exps.weight" not in g.tensors:
                raise ModelError(f"{g.path}: tensor '{b}ffn_gate_exps.weight' not found (a FORK "
                                 "no-MoE file keeps its experts in a separate bundle, which the "
                                 "reference does not read)")
            gate = self._need(b + "ffn_gate_exps.weight")                   # ne {E, F, X}
            F = gate.ne[1] if len(gate.ne) == 3 else -1
            if c.n_ff_exp is not None and F != c.n_ff_exp:
                raise ModelError(f"{g.path}: {gate.name}: ne {list(gate.ne)}, expected "
                                 f"[{E}, {c.n_ff_exp}, {X}] (expert_feed_forward_length)")
            self._check(gate, (E, F, X))
            down = self._need(b + "ffn_down_exps.weight")
            if E == F:
                print(f"st_reference: warning: E == F = {E}: the down layout cannot be told by "
                      "shape; assuming the normal {F, E, X}", file=sys.stderr)
                down_transposed = False
            else:
                down_transposed = tuple(down.ne) == (E, F, X)               # ne {E, F, X}
            if not down_transposed:
                self._check(down, (F, E, X))                                # ne {F, E, X}
            self.layers.append(dict(
                attn_norm=self._need(b + "attn_norm.weight", (E,)),
                wq=self._need(b + "attn_q.weight", (E, H)),                 # ne {E, H}
                wk=self._need(b + "attn_k.weight", (E, K)),                 # ne {E, K}
                wv=self._need(b + "attn_v.weight", (E, Kv)),                # ne {E, n_kv*Dv}
                wo=self._need(b + "attn_output.weight", (Hv, E)),           # ne {n_head*Dv, E}
                ffn_norm=self._need(b + "ffn_norm.weight", (E,)),
                router=self._need(b + "ffn_gate_inp.weight", (E, X)),       # ne {E, X}
                gate=gate,
                up=self._need(b + "ffn_up_exps.weight", (E, F, X)),         # ne {E, F, X}
                down=down,
                down_transposed=down_transposed,
                n_ff=F,
            ))

    def _need(self, name, ne=None):
        t = self.gguf.tensors.get(name)
        if t is None:
            raise ModelError(f"{self.gguf.path}: tensor '{name}' not found")
        if t.ggml_type not in quants.DEQUANTIZABLE:
            raise ModelError(f"{self.gguf.path}: tensor '{name}' has type {t.type_name}; the "
                             "reference reads F32, F16, BF16, Q8_0 and Q4_0")
        if ne is not None:
            self._check(t, ne)
        return t

    def _check(self, t, ne):
        if tuple(t.ne) != tuple(ne):
            raise ModelError(f"{self.gguf.path}: tensor '{t.name}': expected ne {list(ne)}, "
                             f"got {list(t.ne)}")

    # Dequantization, always to float64 row-major arrays.
    @staticmethod
    def matrix(t):
        """A whole 1-D or 2-D tensor: shape (ne[1], ne[0]) or (ne[0],)."""
        m = quants.dequantize_rows(t, 0, t.n_rows)
        return m.reshape(-1) if len(t.ne) == 1 else m

    @staticmethod
    def expert_matrix(t, x):
        """Expert x of a stack ne {C, R, X}: its (R, C) slice, rows [x*R, (x+1)*R)."""
        rows = t.ne[1]
        return quants.dequantize_rows(t, x * rows, (x + 1) * rows)

    def embedding_rows(self, token_ids):
        """token_embd rows of the tokens: [n, E]."""
        return np.stack([quants.dequantize_rows(self.token_embd, t, t + 1)[0] for t in token_ids])


# ---- numerics: exact, or emulating the engine ------------------------------------------------

class Numerics:
    """Where the reference may deliberately lose precision (only with --emulate-engine)."""

    def __init__(self, emulate=False, kv_type=None):
        self.emulate = emulate
        # KV type: exact float64 unless asked; emulation defaults to f16.
        self.kv_type = kv_type if kv_type is not None else ("f16" if emulate else "f64")
        if self.kv_type not in ("f16", "f32", "f64", "q8_0"):
            raise ValueError(f"kv type {self.kv_type!r}: expected f16, f32, q8_0 or f64")

    def linear(self, w, w_type, x):
        """y = W · x for each row of x: x [n, in], w [out, in] -> [n, out].

        Emulating, a Q4_0/Q8_0 weight first rounds its input to Q8_0 (blocks of 32 along in)."""
        if self.emulate and w_type in quants.QUANTIZED_INPUT_TYPES:
            x = quants.q8_0_roundtrip(x)
        return x @ w.T

    def to_cache(self, a):
        """A key or value as stored in the KV cache."""
        if self.kv_type == "f16":
            return a.astype(np.float16).astype(np.float64)
        if self.kv_type == "f32":
            return a.astype(np.float32).astype(np.float64)
        if self.kv_type == "q8_0":
            # Q8_0 blocks of 32 along each head (the engine quantizes whole K/V rows; with head
            # dims that are multiples of 32 the blocks are the same).
            return quants.q8_0_roundtrip(a.astype(np.float32))
        return a

    def query(self, q):
        """A query as the score kernel sees it: a Q8_0 key cache scores Q8_0-rounded queries."""
        if self.kv_type == "q8_0":
            return quants.q8_0_roundtrip(q.astype(np.float32))
        return q


# ---- the blocks of the forward pass (spec §4) ------------------------------------------------

def rms_norm(x, w, eps):
    """y = x / sqrt(mean(x²) + eps) ⊙ w, per row of x [n, E]."""
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def rope_neox(x, positions, theta):
    """NeoX RoPE over whole heads: x [n, heads, Dh], pairs (i, i + Dh/2) rotated by
    angle pos · theta^(-2i/Dh), i in 0..Dh/2-1."""
    dh = x.shape[-1]
    half = dh // 2
    i = np.arange(half, dtype=np.float64)
    angle = np.asarray(positions, dtype=np.float64)[:, None] * theta ** (-2.0 * i / dh)  # [n, Dh/2]
    cos, sin = np.cos(angle)[:, None, :], np.sin(angle)[:, None, :]
    a, b = x[..., :half], x[..., half:]
    return np.concatenate([a * cos - b * sin, a * sin + b * cos], axis=-1)


def select_experts(r, k, gating):
    """Top-k of router logits r [n, X] (ties: lower index first) and their weights.

    softmax gating: w = softmax over the k selected logits;
    sigmoid gating: w = σ(r_j) / Σ_selected σ(r).   Returns (sel [n, k] int, w [n, k])."""
    sel = np.argsort(-r, axis=-1, kind="stable")[:, :k]   # stable: equal logits keep index order
    top = np.take_along_axis(r, sel, axis=-1)
    if gating == GATING_SOFTMAX:
        e = np.exp(top - top.max(axis=-1, keepdims=True))
        w = e / e.sum(axis=-1, keepdims=True)
    else:
        s = 1.0 / (1.0 + np.exp(-top))
        w = s / s.sum(axis=-1, keepdims=True)
    return sel, w


def attention(model, num, L, il, x):
    """h = RMSNorm(x) ⊙ attn_norm; causal GQA attention over positions 0..n-1; returns Wo·(...)
    as [n, E]. RoPE on RoPE layers only; on sliding layers key p0 is hidden from query p1 iff
    p1 - p0 >= window."""
    c = model.cfg
    n = x.shape[0]
    Dh, Dv = c.head_dim, c.value_dim
    group = c.n_head // c.n_head_kv
    h = rms_norm(x, model.matrix(L["attn_norm"]), c.rms_eps)

    q = num.linear(model.matrix(L["wq"]), L["wq"].ggml_type, h).reshape(n, c.n_head, Dh)
    k = num.linear(model.matrix(L["wk"]), L["wk"].ggml_type, h).reshape(n, c.n_head_kv, Dh)
    v = num.linear(model.matrix(L["wv"]), L["wv"].ggml_type, h).reshape(n, c.n_head_kv, Dv)
    pos = np.arange(n)
    if c.uses_rope(il):
        q = rope_neox(q, pos, c.rope_theta)
        k = rope_neox(k, pos, c.rope_theta)
    k, v = num.to_cache(k), num.to_cache(v)            # what the KV cache holds
    q = num.query(q)

    p1, p0 = pos[:, None], pos[None, :]                # query, key
    visible = p0 <= p1
    window = c.window(il)
    if window > 0:
        visible &= (p1 - p0) < window
    out = np.empty((n, c.n_head, Dv))
    for hq in range(c.n_head):
        hk = hq // group                               # GQA: query head -> kv head
        s = q[:, hq, :] @ k[:, hk, :].T / math.sqrt(Dh)   # [n_query, n_key]
        s = np.where(visible, s, -np.inf)
        s = np.exp(s - s.max(axis=-1, keepdims=True))
        p = s / s.sum(axis=-1, keepdims=True)
        out[:, hq, :] = p @ v[:, hk, :]
    return num.linear(model.matrix(L["wo"]), L["wo"].ggml_type, out.reshape(n, c.n_head * Dv))


def moe_ffn(model, num, L, x, sel, w):
    """u = RMSNorm(x) ⊙ ffn_norm; per token Σ_j w_j · Down_e (ReLU(Gate_e·u) ⊙ (Up_e·u)), [n, E].

    Each selected expert is dequantized once and applied to all tokens that chose it."""
    c = model.cfg
    u = rms_norm(x, model.matrix(L["ffn_norm"]), c.rms_eps)
    y = np.zeros_like(x)
    for e in np.unique(sel):
        rows, slot = np.nonzero(sel == e)              # tokens that selected e, and where
        ue = u[rows]
        gate = num.linear(model.expert_matrix(L["gate"], e), L["gate"].ggml_type, ue)   # [t, F]
        up = num.linear(model.expert_matrix(L["up"], e), L["up"].ggml_type, ue)         # [t, F]
        hidden = np.maximum(gate, 0.0) * up            # ReGLU
        down = model.expert_matrix(L["down"], e)
        if L["down_transposed"]:
            # (F, E): row n is the E-vector neuron n adds; an axpy, no input quantization.
            ye = hidden @ down
        else:
            ye = num.linear(down, L["down"].ggml_type, hidden)   # (E, F) weight
        y[rows] += w[rows, slot][:, None] * ye
    return y


def lm_head(model, num, x):
    """logits = W_out · x for each row of x [n, E] -> [n, V], W_out dequantized in slices."""
    t = model.output
    if num.emulate and t.ggml_type in quants.QUANTIZED_INPUT_TYPES:
        x = quants.q8_0_roundtrip(x)                   # once, instead of once per slice
    logits = np.empty((x.shape[0], model.vocab))
    for start in range(0, model.vocab, LM_HEAD_ROWS_PER_SLICE):
        stop = min(start + LM_HEAD_ROWS_PER_SLICE, model.vocab)
        logits[:, start:stop] = x @ quants.dequantize_rows(t, start, stop).T
    return logits


def forward(model, token_ids, num=None, trace=None):
    """Logits [n, V] (float64) after each position of token_ids, with teacher forcing.

    trace, if a list, receives per layer the selected experts and their weights."""
    num = num or Numerics()
    c = model.cfg
    token_ids = [int(t) for t in token_ids]
    if not token_ids:
        raise ValueError("no tokens")
    for t in token_ids:
        if not 0 <= t < model.vocab:
            raise ValueError(f"token id {t} outside the vocabulary 0..{model.vocab - 1}")

    x = model.embedding_rows(token_ids)                # [n, E], no embedding scale
    for il, L in enumerate(model.layers):
        # 1-2. Router first, on the raw layer input; top-k and weights.
        r = num.linear(model.matrix(L["router"]), L["router"].ggml_type, x)   # [n, X]
        sel, w = select_experts(r, c.n_expert_used, c.gating)
        if trace is not None:
            trace.append((sel, w))
        # 3. (An offloading engine starts loading the selected experts here.)
        # 4-5. Attention and residual.
        x = x + attention(model, num, L, il, x)
        # 6. Sparse ReGLU experts and residual.
        x = x + moe_ffn(model, num, L, x, sel, w)
    xn = rms_norm(x, model.matrix(model.output_norm), c.rms_eps)
    return lm_head(model, num, xn)


def run_reference(path, token_ids, emulate=False, kv_type=None, router_gating="auto"):
    """Convenience for tests: the logits [n, V] float64."""
    return forward(Model(path, router_gating), token_ids, Numerics(emulate, kv_type))


# ---- command line ------------------------------------------------------------------------------

def parse_token_ids(text):
    try:
        ids = [int(s) for s in text.replace(" ", "").split(",") if s != ""]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--token-ids: expected comma-separated integers, "
                                         f"got {text!r}")
    if not ids:
        raise argparse.ArgumentTypeError("--token-ids: no tokens given")
    return ids


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Independent float64 reference forward pass for SmallThinker GGUF models; "
                    "writes the logits after every position as float32 .npy [n_tokens, V].")
    ap.add_argument("-m", "--model", required=True, help="SmallThinker GGUF file")
    ap.add_argument("--token-ids", required=True, type=parse_token_ids,
                    help="comma-separated token ids, e.g. 1,2,3")
    ap.add_argument("-o", "--output", required=True, help="output .npy file")
    ap.add_argument("--emulate-engine", action="store_true",
                    help="round Q4_0/Q8_0 matmul inputs to Q8_0 and the KV cache to --kv-type")
    ap.add_argument("--kv-type", choices=("f16", "f32", "q8_0"), default=None,
                    help="KV cache element type (default: f16 with --emulate-engine, else exact)")
    ap.add_argument("--router-gating", choices=("auto", "softmax", "sigmoid"), default="auto",
                    help="override the expert_gating_func key (auto: 1 softmax, 2 sigmoid, "
                         "absent sigmoid)")
    args = ap.parse_args(argv)

    t0 = time.time()
    try:
        model = Model(args.model, args.router_gating)
        num = Numerics(args.emulate_engine, args.kv_type)
        logits = forward(model, args.token_ids, num)
    except (GGUFError, ModelError, ValueError) as e:
        print(f"st_reference: error: {e}", file=sys.stderr)
        return 1
    np.save(args.output, logits.astype(np.float32))
    c = model.cfg
    argmax = np.argmax(logits, axis=-1).tolist()
    transposed = bool(model.layers) and model.layers[0]["down_transposed"]
    print(f"st_reference: n_tokens={len(args.token_ids)} tokens={args.token_ids} argmax={argmax} "
          f"emulate={'yes' if num.emulate else 'no'} kv={num.kv_type} "
          f"gating={c.gating} ({c.gating_source}) "
          f"down={'transposed' if transposed else 'normal'} "
          f"head={'tied' if model.tied_output else 'output.weight'} "
          f"time={time.time() - t0:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
