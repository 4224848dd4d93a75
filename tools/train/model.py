"""A SmallThinker model in PyTorch, faithful to docs/smallthinker-spec.md §4.

Per layer:
  r = W_router · x                       (raw residual input, before attn_norm; f32, no bias)
  sel = top-k(r) (ties: lower index), w_j = σ(r_j) / Σ_sel σ(r)   (sigmoid gating, renormalized)
  h = RMSNorm(x) ⊙ attn_norm; Q,K,V (no bias), GQA, scale 1/√Dh,
      NeoX RoPE on RoPE layers; with a sliding window W: il % 4 == 0 → NoPE + full causal,
      others → RoPE + sliding window (key p0 masked for query p1 iff p1 - p0 ≥ W)
  x += Wo · attn
  u = RMSNorm(x) ⊙ ffn_norm;  x += Σ_j w_j · Down_j(ReLU(Gate_j u) ⊙ Up_j u)     (ReGLU)
Final RMSNorm, LM head tied to token_embd (no embedding scale).

The MoE is computed by grouping (token, slot) assignments by expert (argsort + index_select +
index_add_), so each expert runs one dense matmul over exactly the tokens routed to it.
"""
import math
from dataclasses import dataclass, asdict

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Config:
    vocab_size: int = 4096
    n_layer: int = 8
    n_embd: int = 256          # E
    n_head: int = 4
    n_head_kv: int = 2
    head_dim: int = 64         # Dh
    n_expert: int = 16         # X
    n_expert_used: int = 4     # k
    n_ff: int = 128            # F (expert width)
    context_length: int = 512
    sliding_window: int = 64   # 0: every layer RoPE + global
    rope_theta: float = 10000.0
    rms_eps: float = 1e-6
    dropout: float = 0.0
    tie_embeddings: bool = True

    def to_dict(self):
        return asdict(self)

    def is_rope_layer(self, il):
        return self.sliding_window <= 0 or il % 4 != 0

    def is_sliding_layer(self, il):
        return self.sliding_window > 0 and il % 4 != 0


class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(n))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_cos_sin(T, Dh, theta, device=None):
    half = Dh // 2
    inv = theta ** (-torch.arange(0, half, dtype=torch.float64) * 2.0 / Dh)
    ang = torch.arange(T, dtype=torch.float64)[:, None] * inv[None, :]
    return ang.cos().float(), ang.sin().float()


def apply_rope_neox(x, cos, sin):
    # x [B, nh, T, Dh]; pairs (i, i + Dh/2)
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


class Attention(nn.Module):
    def __init__(self, cfg: Config, il: int):
        super().__init__()
        self.cfg = cfg
        self.rope = cfg.is_rope_layer(il)
        self.sliding = cfg.is_sliding_layer(il)
        H = cfg.n_head * cfg.head_dim
        K = cfg.n_head_kv * cfg.head_dim
        self.wq = nn.Linear(cfg.n_embd, H, bias=False)
        self.wk = nn.Linear(cfg.n_embd, K, bias=False)
        self.wv = nn.Linear(cfg.n_embd, K, bias=False)
        self.wo = nn.Linear(H, cfg.n_embd, bias=False)

    def forward(self, h, cos, sin, masks):
        cfg = self.cfg
        B, T, _ = h.shape
        q = self.wq(h).view(B, T, cfg.n_head, cfg.head_dim).transpose(1, 2)
        k = self.wk(h).view(B, T, cfg.n_head_kv, cfg.head_dim).transpose(1, 2)
        v = self.wv(h).view(B, T, cfg.n_head_kv, cfg.head_dim).transpose(1, 2)
        if self.rope:
            q = apply_rope_neox(q, cos[:T], sin[:T])
            k = apply_rope_neox(k, cos[:T], sin[:T])
        g = cfg.n_head // cfg.n_head_kv
        if g > 1:  # query head h reads kv head h // g
            k = k.repeat_interleave(g, dim=1)
            v = v.repeat_interleave(g, dim=1)
        att = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(cfg.head_dim))
        att = att + (masks["sliding"] if self.sliding else masks["causal"])[:T, :T]
        att = torch.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, cfg.n_head * cfg.head_dim)
        return self.wo(y)


class MoE(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        X, E, Fd = cfg.n_expert, cfg.n_embd, cfg.n_ff
        self.router = nn.Linear(E, X, bias=False)                 # ffn_gate_inp
        self.gate = nn.Parameter(torch.empty(X, Fd, E))           # ffn_gate_exps [X][F][E]
        self.up = nn.Parameter(torch.empty(X, Fd, E))             # ffn_up_exps   [X][F][E]
        self.down = nn.Parameter(torch.empty(X, E, Fd))           # ffn_down_exps [X][E][F]

    def route(self, x):
        """x: raw layer input [N, E] -> (logits [N, X], idx [N, k], w [N, k])."""
        r = self.router(x)
        # topk on ties is implementation-defined; a tiny index-dependent offset would change the
        # values, so break ties exactly with a stable sort (descending, lower index first).
        idx = torch.sort(r, dim=-1, descending=True, stable=True)[1][:, :self.cfg.n_expert_used]
        s = torch.sigmoid(r.gather(-1, idx))
        w = s / s.sum(-1, keepdim=True)
        return r, idx, w

    def forward(self, u, idx, w, stats=None):
        """u: normalized input [N, E]; idx, w: [N, k]. Returns [N, E]."""
        N, E = u.shape
        k = idx.shape[1]
        flat = idx.reshape(-1)
        order = torch.argsort(flat, stable=True)
        counts = torch.bincount(flat, minlength=self.cfg.n_expert).tolist()
        tok = order // k
        wflat = w.reshape(-1)[order]
        out = torch.zeros_like(u)
        start = 0
        for e, c in enumerate(counts):
            if c == 0:
                continue
            t = tok[start:start + c]
            xe = u.index_select(0, t)
            g = xe @ self.gate[e].t()
            a = F.relu(g) * (xe @ self.up[e].t())
            if stats is not None:
                stats.setdefault("neuron_active", []).append((e, (g > 0).detach()))
            ye = (a @ self.down[e].t()) * wflat[start:start + c, None]
            out.index_add_(0, t, ye)
            start += c
        return out


class Block(nn.Module):
    def __init__(self, cfg: Config, il: int):
        super().__init__()
        self.il = il
        self.attn_norm = RMSNorm(cfg.n_embd, cfg.rms_eps)
        self.attn = Attention(cfg, il)
        self.ffn_norm = RMSNorm(cfg.n_embd, cfg.rms_eps)
        self.moe = MoE(cfg)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x, cos, sin, masks, stats=None):
        B, T, E = x.shape
        r, idx, w = self.moe.route(x.reshape(-1, E))           # router on the raw input
        x = x + self.drop(self.attn(self.attn_norm(x), cos, sin, masks))
        u = self.ffn_norm(x).reshape(-1, E)
        y = self.moe(u, idx, w, stats=None if stats is None else stats.setdefault(self.il, {}))
        x = x + self.drop(y.view(B, T, E))
        return x, r, idx


class SmallThinker(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        self.tok_embd = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.blocks = nn.ModuleList([Block(cfg, il) for il in range(cfg.n_layer)])
        self.out_norm = RMSNorm(cfg.n_embd, cfg.rms_eps)
        if not cfg.tie_embeddings:
            self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        cos, sin = rope_cos_sin(cfg.context_length, cfg.head_dim, cfg.rope_theta)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)
        T = cfg.context_length
        i = torch.arange(T)
        d = i[:, None] - i[None, :]                      # query - key
        causal = torch.zeros(T, T).masked_fill(d < 0, float("-inf"))
        W = cfg.sliding_window if cfg.sliding_window > 0 else T + 1
        sliding = causal.masked_fill(d >= W, float("-inf"))
        self.register_buffer("mask_causal", causal, persistent=False)
        self.register_buffer("mask_sliding", sliding, persistent=False)
        self.reset_parameters()

    def reset_parameters(self):
        cfg = self.cfg
        std = 0.02
        proj_std = std / math.sqrt(2 * cfg.n_layer)
        nn.init.normal_(self.tok_embd.weight, std=std)
        for b in self.blocks:
            for lin in (b.attn.wq, b.attn.wk, b.attn.wv):
                nn.init.normal_(lin.weight, std=std)
            nn.init.normal_(b.attn.wo.weight, std=proj_std)
            nn.init.normal_(b.moe.router.weight, std=std)
            nn.init.normal_(b.moe.gate, std=std)
            nn.init.normal_(b.moe.up, std=std)
            nn.init.normal_(b.moe.down, std=proj_std)
        if not cfg.tie_embeddings:
            nn.init.normal_(self.lm_head.weight, std=std)

    def head_weight(self):
        return self.tok_embd.weight if self.cfg.tie_embeddings else self.lm_head.weight

    def hidden(self, ids, stats=None):
        """Returns (final normalized hidden [B,T,E], list of router logits, list of idx)."""
        x = self.tok_embd(ids)
        masks = {"causal": self.mask_causal, "sliding": self.mask_sliding}
        rs, idxs = [], []
        for b in self.blocks:
            x, r, idx = b(x, self.cos, self.sin, masks, stats)
            rs.append(r)
            idxs.append(idx)
        return self.out_norm(x), rs, idxs

    def forward(self, ids, stats=None):
        h, rs, idxs = self.hidden(ids, stats)
        return h @ self.head_weight().t(), rs, idxs


def load_balance_loss(router_logits, idxs, n_expert, n_group=1):
    """Global-batch load-balance loss, relaxed as in the paper's DP-groups variant.

    For each layer and each group of tokens (the batch split into n_group groups of whole
    sequences; n_group = 1 balances over the whole global batch), the Switch-style
        X · Σ_e f_e · P_e,
    f_e = fraction of routed slots going to expert e (no gradient), P_e = mean over the group's
    tokens of the sigmoid score of e normalized over all experts. Averaged over layers and groups.
    Because the balance is only asked of the global batch (not of each sequence), experts may
    still specialise on topics/positions inside it.
    """
    total = 0.0
    n = 0
    for r, idx in zip(router_logits, idxs):
        N = r.shape[0]
        rg = r.view(n_group, N // n_group, -1)
        ig = idx.view(n_group, N // n_group, -1)
        s = torch.sigmoid(rg)
        p = s / s.sum(-1, keepdim=True)
        P = p.mean(1)                                          # [G, X]
        f = torch.zeros_like(P)
        f.scatter_add_(1, ig.reshape(n_group, -1), torch.ones_like(ig.reshape(n_group, -1), dtype=P.dtype))
        f = f / ig[0].numel()
        total = total + n_expert * (f.detach() * P).sum(-1).mean()
        n += 1
    return total / max(n, 1)
