"""CI smoke test for the tiny-model training tools (single thread, well under a minute).

  /usr/bin/python3 -m unittest discover -s tools/train -p 'test_*.py'
"""
import math
import os
import sys
import tempfile
import unittest

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
torch.set_num_threads(1)

import bpe  # noqa: E402
import export_gguf  # noqa: E402
import gguf_io as G  # noqa: E402
from model import Config, SmallThinker, load_balance_loss  # noqa: E402

TEXT = ("once upon a time, there was a little girl named lily. she loved to play outside in the sun.\n\n"
        "one day, she saw a big red ball. \"can i play with it?\" she asked her mom. her mom said, "
        "\"yes, lily, you can play.\" lily was happy! she played with the ball all day.\n"
        "tom had 3 cats and 12 dogs... they're friends; we'll see what they'd do.  \t the end.\r\n")


def tiny_tokenizer():
    tokens, merges = bpe.train_bpe(TEXT * 3, 256 + 3 + 80)
    return bpe.Tokenizer(tokens, merges)


def tiny_config(V):
    return Config(vocab_size=V, n_layer=5, n_embd=64, n_head=4, n_head_kv=2, head_dim=16,
                  n_expert=8, n_expert_used=2, n_ff=32, context_length=64, sliding_window=8)


class TokenizerTest(unittest.TestCase):
    def test_roundtrip_and_layout(self):
        tok = tiny_tokenizer()
        self.assertEqual(len(tok), 256 + 80 + 3)
        self.assertEqual(tok.tokens[-3:], bpe.SPECIAL_TOKENS)
        self.assertEqual(tok.token_types[-3:], [3, 3, 3])
        self.assertEqual(set(tok.token_types[:-3]), {1})
        for s in [TEXT, "héllo wörld ✓ 123 'll 'S\n\n\n  x", ""]:
            ids = tok.encode(s)
            self.assertEqual(tok.decode(ids), s)
        self.assertLess(len(tok.encode(TEXT)), len(TEXT.encode()) // 2)
        ids = tok.encode("a<|endoftext|>b", allow_special=True)
        self.assertIn(tok.eot_id, ids)
        self.assertEqual(tok.decode(ids), "a<|endoftext|>b")

    def test_pretokenizer_qwen2(self):
        self.assertEqual(bpe.pretokenize("hello world's 123 !!\n\n  x"),
                         ["hello", " world", "'s", " ", "1", "2", "3", " !!\n\n", " ", " x"])

    def test_merges_by_rank(self):
        # "ab" then "abc" must merge in rank order within a pre-token
        tok = bpe.Tokenizer([c for _, c in bpe.BYTE_PAIRS] + ["ab", "abc", "bc"] + bpe.SPECIAL_TOKENS,
                            [("a", "b"), ("ab", "c"), ("b", "c")])
        self.assertEqual([tok.tokens[i] for i in tok.encode("abc")], ["abc"])
        tok2 = bpe.Tokenizer([c for _, c in bpe.BYTE_PAIRS] + ["bc", "ab", "abc"] + bpe.SPECIAL_TOKENS,
                             [("b", "c"), ("a", "b"), ("ab", "c")])
        self.assertEqual([tok2.tokens[i] for i in tok2.encode("abc")], ["a", "bc"])


class ModelTest(unittest.TestCase):
    def test_sliding_mask_and_routing(self):
        cfg = tiny_config(100)
        m = SmallThinker(cfg)
        # W = 8: key 0 is visible to query 7 (7 - 0 < 8) and masked for query 8
        self.assertEqual(m.mask_sliding[7, 0].item(), 0.0)
        self.assertEqual(m.mask_sliding[8, 0].item(), -math.inf)
        self.assertEqual(m.mask_causal[8, 0].item(), 0.0)
        self.assertEqual(m.mask_causal[0, 1].item(), -math.inf)
        self.assertEqual([cfg.is_rope_layer(i) for i in range(5)], [False, True, True, True, False])
        moe = m.blocks[0].moe
        with torch.no_grad():
            moe.router.weight.zero_()
        r, idx, w = moe.route(torch.randn(3, 64))
        self.assertEqual(idx.tolist(), [[0, 1]] * 3)                 # ties: lower index first
        self.assertTrue(torch.allclose(w, torch.full_like(w, 0.5)))  # sigmoid renormalized

    def test_training_reduces_loss(self):
        torch.manual_seed(0)
        tok = tiny_tokenizer()
        ids = torch.tensor(tok.encode(TEXT * 4))
        cfg = tiny_config(len(tok))
        m = SmallThinker(cfg)
        opt = torch.optim.AdamW(m.parameters(), lr=3e-3)
        T = 48
        first = last = None
        for step in range(30):
            s = torch.randint(0, len(ids) - T - 1, (8,))
            x = torch.stack([ids[i:i + T] for i in s])
            y = torch.stack([ids[i + 1:i + T + 1] for i in s])
            logits, rs, idxs = m(x)
            ce = F.cross_entropy(logits.reshape(-1, len(tok)), y.reshape(-1))
            loss = ce + 0.01 * load_balance_loss(rs, idxs, cfg.n_expert)
            opt.zero_grad()
            loss.backward()
            opt.step()
            first = ce.item() if first is None else first
            last = ce.item()
        self.assertLess(last, first - 1.0)


class ExportTest(unittest.TestCase):
    def test_export_all_types_and_layouts(self):
        torch.manual_seed(1)
        tok = tiny_tokenizer()
        cfg = tiny_config(len(tok))
        m = SmallThinker(cfg).eval()
        E, V, X, Fd, H, K, P = 64, len(tok), 8, 32, 64, 32, 32
        W1 = np.random.randn(P, E).astype(np.float32)
        W2 = np.random.randn(V, P).astype(np.float32)
        x = torch.tensor([tok.encode("once upon a time, there was a girl.")])
        with torch.no_grad():
            ref = m(x)[0]
        with tempfile.TemporaryDirectory() as d:
            for wt, tol in [("f32", 1e-6), ("f16", 2e-3), ("bf16", 2e-2), ("q8_0", 5e-2), ("q4_0", 0.5)]:
                for transposed in (False, True):
                    path = os.path.join(d, f"t_{wt}_{int(transposed)}.gguf")
                    export_gguf.export(m, tok, path, wt, transposed, (W1, W2))
                    r = G.GGUFReader(path)
                    self.assertEqual(r.version, 3)
                    self.assertEqual(r.kv["general.architecture"], "smallthinker")
                    self.assertEqual(r.kv["smallthinker.expert_gating_func"], 2)
                    self.assertEqual(r.kv_types["smallthinker.expert_gating_func"][0], G.T_UINT32)
                    self.assertEqual(r.kv_types["smallthinker.rope.freq_base"][0], G.T_FLOAT32)
                    self.assertEqual(r.kv["smallthinker.attention.sliding_window"], 8)
                    self.assertEqual(r.kv["tokenizer.ggml.pre"], "qwen2")
                    self.assertEqual(r.kv["tokenizer.ggml.tokens"], tok.tokens)
                    self.assertEqual(r.kv["tokenizer.ggml.token_type"], tok.token_types)
                    self.assertEqual(r.kv["tokenizer.ggml.eos_token_id"], tok.eot_id)
                    self.assertIs(r.kv["tokenizer.ggml.add_bos_token"], False)
                    t_mat = G.TYPE_BY_NAME[wt]
                    want = {"token_embd.weight": ([E, V], t_mat), "output_norm.weight": ([E], G.GGML_F32),
                            "lm_head_profiler.weight": ([P * (E + V), 1], t_mat)}
                    for il in range(cfg.n_layer):
                        q = f"blk.{il}."
                        want.update({
                            q + "attn_norm.weight": ([E], G.GGML_F32), q + "attn_q.weight": ([E, H], t_mat),
                            q + "attn_k.weight": ([E, K], t_mat), q + "attn_v.weight": ([E, K], t_mat),
                            q + "attn_output.weight": ([H, E], t_mat), q + "ffn_norm.weight": ([E], G.GGML_F32),
                            q + "ffn_gate_inp.weight": ([E, X], G.GGML_F32),
                            q + "ffn_gate_exps.weight": ([E, Fd, X], t_mat),
                            q + "ffn_up_exps.weight": ([E, Fd, X], t_mat),
                            q + "ffn_down_exps.weight": ([E, Fd, X] if transposed else [Fd, E, X], t_mat)})
                    got = {n: (t["ne"], t["type"]) for n, t in r.tensors.items()}
                    self.assertEqual(got, want)
                    for t in r.tensors.values():
                        self.assertEqual(t["offset"] % 32, 0)
                    self.assertEqual(r.data_start % 32, 0)
                    self.assertEqual(os.path.getsize(path),
                                     r.data_start + max(t["offset"] + t["nbytes"] for t in r.tensors.values()))
                    m2, tok2, pred = export_gguf.load_gguf(path)
                    with torch.no_grad():
                        out = m2(x)[0]
                    self.assertLess((out - ref).abs().max().item(), tol, (wt, transposed))
                    self.assertLess(np.abs(pred[1] - W2).max(), 0.5 if wt == "q4_0" else 0.05)
                    self.assertEqual(tok2.tokens, tok.tokens)


class QuantTest(unittest.TestCase):
    def test_ggml_reference_semantics(self):
        x = np.zeros(32, dtype=np.float32)
        x[0], x[1], x[2] = 1.0, -2.0, 0.5
        b = G.quantize_q4_0(x)
        d = b[:2].view(np.float16)[0]
        self.assertEqual(float(d), 0.25)           # max = -2 (largest magnitude, signed) / -8
        self.assertEqual(b[2 + 1] & 0xF, 0)        # -2 / 0.25 + 8.5 = 0.5 -> 0
        self.assertEqual(b[2 + 0] & 0xF, 12)       # 1 / 0.25 + 8.5 = 12.5 -> 12
        y = np.linspace(-1, 1, 64).astype(np.float32)
        self.assertLess(np.abs(G.dequantize_q8_0(G.quantize_q8_0(y).tobytes(), 64) - y).max(), 1 / 127)
        half = np.full(32, 0.5, dtype=np.float32)
        half[0] = 127.0
        q = G.quantize_q8_0(half)[2:].view(np.int8)
        self.assertEqual(q[1], 1)                  # 0.5 rounds half away from zero


if __name__ == "__main__":
    unittest.main()
