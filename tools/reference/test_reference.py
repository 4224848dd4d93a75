"""Tests of the Python reference itself (numpy only, a few seconds).

    /usr/bin/python3 -m unittest discover -s tools/reference -p 'test_*.py'

Known values are written by hand; the toy models are checked against `direct_forward` below, a
second, deliberately different rendering of spec §4: one token at a time with a growing KV cache,
explicit loops over heads, positions and RoPE pairs, and top-k by sorting (-r, index).
"""

import contextlib
import io
import json
import math
import os
import struct
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import compare_logits                 # noqa: E402
import gguf_read                      # noqa: E402
import gguf_write_min as gw           # noqa: E402
import quants                         # noqa: E402
import st_reference as ref            # noqa: E402


class TempDirTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="st_reference_test_")
        self.tmp = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def path(self, name):
        return os.path.join(self.tmp, name)


# ---- dequantization ------------------------------------------------------------------------

class DequantTest(unittest.TestCase):
    def test_f32(self):
        raw = struct.pack("<4f", 1.0, -2.5, 0.125, 3e38)
        np.testing.assert_array_equal(quants.dequantize(raw, quants.F32),
                                      [1.0, -2.5, 0.125, np.float32(3e38)])

    def test_f16(self):
        raw = struct.pack("<5H", 0x3C00, 0xC100, 0x0400, 0x7BFF, 0x0001)
        np.testing.assert_array_equal(quants.dequantize(raw, quants.F16),
                                      [1.0, -2.5, 2.0 ** -14, 65504.0, 2.0 ** -24])

    def test_bf16(self):
        raw = struct.pack("<4H", 0x3F80, 0xC020, 0x4049, 0x0000)
        np.testing.assert_array_equal(quants.dequantize(raw, quants.BF16),
                                      [1.0, -2.5, 3.140625, 0.0])

    def test_q4_0_block(self):
        # d = 0.5 (fp16 0x3800); qs[j] = j | (15 - j) << 4, so element j = j - 8 and
        # element j + 16 = (15 - j) - 8 = 7 - j.
        raw = struct.pack("<H", 0x3800) + bytes(j | ((15 - j) << 4) for j in range(16))
        expected = [(j - 8) * 0.5 for j in range(16)] + [(7 - j) * 0.5 for j in range(16)]
        np.testing.assert_array_equal(quants.dequantize(raw, quants.Q4_0), expected)

    def test_q4_0_two_blocks_different_scales(self):
        b0 = struct.pack("<H", 0x3C00) + bytes([0x80] * 16)     # d=1: low 0 -> -8, high 8 -> 0
        b1 = struct.pack("<H", 0xC000) + bytes([0xF1] * 16)     # d=-2: low 1 -> -7, high 15 -> 7
        out = quants.dequantize(b0 + b1, quants.Q4_0, 64)
        np.testing.assert_array_equal(out[:16], -8.0)
        np.testing.assert_array_equal(out[16:32], 0.0)
        np.testing.assert_array_equal(out[32:48], 14.0)
        np.testing.assert_array_equal(out[48:], -14.0)

    def test_q8_0_block(self):
        q = [-128, -127, -1, 0, 1, 2, 127] + [5] * 25
        raw = struct.pack("<H", 0x3400) + struct.pack("<32b", *q)   # d = 0.25
        np.testing.assert_array_equal(quants.dequantize(raw, quants.Q8_0),
                                      [v * 0.25 for v in q])

    def test_unsupported_type(self):
        with self.assertRaisesRegex(ValueError, "Q4_K"):
            quants.dequantize(bytes(144), 12)

    def test_writer_encoders_round_trip(self):
        rng = np.random.default_rng(1)
        d = np.array([0.5, -0.25, 1.5])
        q4 = rng.integers(-8, 8, size=(3, 32))
        np.testing.assert_array_equal(
            quants.dequantize(gw.q4_0_bytes_from(d, q4), quants.Q4_0), (d[:, None] * q4).ravel())
        q8 = rng.integers(-127, 128, size=(3, 32))
        np.testing.assert_array_equal(
            quants.dequantize(gw.q8_0_bytes_from(d, q8), quants.Q8_0), (d[:, None] * q8).ravel())


class QuantizeQ8Test(unittest.TestCase):
    def test_zero_block(self):
        d, q = quantize = quants.quantize_q8_0(np.zeros(32))
        self.assertEqual(d[0], 0.0)
        np.testing.assert_array_equal(q, 0)
        np.testing.assert_array_equal(quants.q8_0_roundtrip(np.zeros(64)), 0.0)
        self.assertEqual(len(quantize), 2)

    def test_ties_round_away_from_zero(self):
        # amax = 127 -> d = 1, id = 1: q = roundf(x).
        x = np.zeros(32)
        x[:9] = [127, 0.5, -0.5, 1.5, 2.5, -2.5, 126.5, -3.5, 0.49999997]
        d, q = quants.quantize_q8_0(x)
        self.assertEqual(float(d[0]), 1.0)
        np.testing.assert_array_equal(q[0, :9], [127, 1, -1, 2, 3, -3, 127, -4, 0])

    def test_scale_two(self):
        x = np.zeros(32)
        x[:5] = [-254, 1.0, 3.0, -1.0, 5.0]     # d = 2, id = 0.5: 0.5, 1.5, -0.5, 2.5
        d, q = quants.quantize_q8_0(x)
        self.assertEqual(float(d[0]), 2.0)
        np.testing.assert_array_equal(q[0, :5], [-127, 1, 2, -1, 3])

    def test_scale_rounded_to_fp16(self):
        # amax = 1: d = 1/127 = 0.0078740157 in float32; fp16 keeps 0.0078125 + 8 * 2^-17.
        x = np.zeros(32)
        x[0] = 1.0
        d, q = quants.quantize_q8_0(x)
        self.assertEqual(float(d[0]), 0.00787353515625)
        self.assertEqual(q[0, 0], 127)
        self.assertEqual(quants.q8_0_roundtrip(x)[0], 127 * 0.00787353515625)

    def test_product_in_float32(self):
        # x * id computed in float32 is exactly 8.5 (-> 9); x / d in float64 is 8.49999976 (-> 8).
        x = np.zeros(32, dtype=np.float32)
        x[0] = 1.0
        x[1] = np.float32(0.06692913174629211)
        _, q = quants.quantize_q8_0(x)
        self.assertEqual(q[0, 1], 9)

    def test_blocks_independent_and_shape_kept(self):
        x = np.zeros((2, 64))
        x[0, 0], x[0, 32], x[1, 5] = 127.0, 254.0, -12.7
        y = quants.q8_0_roundtrip(x)
        self.assertEqual(y.shape, (2, 64))
        self.assertEqual(y[0, 0], 127.0)
        self.assertEqual(y[0, 32], 254.0)
        self.assertAlmostEqual(y[1, 5], -127 * float(np.float16(np.float32(12.7) / 127)))

    def test_length_must_be_multiple_of_32(self):
        with self.assertRaises(ValueError):
            quants.quantize_q8_0(np.ones(33))


# ---- the GGUF reader -------------------------------------------------------------------------

class ReaderTest(TempDirTest):
    def write_sample(self, name="sample.gguf", alignment=32):
        w = gw.GGUFWriter(alignment=alignment)
        w.add("u8", gw.U8, 200)
        w.add("i8", gw.I8, -100)
        w.add("u16", gw.U16, 60000)
        w.add("i16", gw.I16, -30000)
        w.add("u32", gw.U32, 4000000000)
        w.add("i32", gw.I32, -2000000000)
        w.add("f32", gw.F32, 1.5)
        w.add("bool", gw.BOOL, True)
        w.add("str", gw.STRING, "héllo")
        w.add("u64", gw.U64, 2 ** 63 + 5)
        w.add("i64", gw.I64, -2 ** 62)
        w.add("f64", gw.F64, -0.1)
        w.add("arr.i32", gw.ARRAY, (gw.I32, [1, -2, 3]))
        w.add("arr.str", gw.ARRAY, (gw.STRING, ["a", "", "ccc"]))
        w.add("arr.bool", gw.ARRAY, (gw.BOOL, [True, False]))
        w.add("arr.nested", gw.ARRAY, (gw.ARRAY, [(gw.U8, [1, 2]), (gw.U8, []), (gw.U8, [3])]))
        w.add("arr.empty", gw.ARRAY, (gw.F32, []))
        w.add_tensor("a", (3,), gw.GGML_F32, gw.f32_bytes([1, 2, 3]))
        w.add_tensor("b", (32, 2), gw.GGML_Q4_0,
                     gw.q4_0_bytes_from([1.0, 2.0], np.tile(np.arange(-8, 8), (2, 2))))
        p = self.path(name)
        w.write(p)
        return p

    def test_metadata_of_every_type(self):
        g = gguf_read.GGUFFile(self.write_sample())
        m = g.metadata
        self.assertEqual((m["u8"], m["i8"], m["u16"], m["i16"]), (200, -100, 60000, -30000))
        self.assertEqual((m["u32"], m["i32"]), (4000000000, -2000000000))
        self.assertEqual(m["f32"], 1.5)
        self.assertIs(m["bool"], True)
        self.assertEqual(m["str"], "héllo")
        self.assertEqual((m["u64"], m["i64"], m["f64"]), (2 ** 63 + 5, -2 ** 62, -0.1))
        self.assertEqual(m["arr.i32"], [1, -2, 3])
        self.assertEqual(m["arr.str"], ["a", "", "ccc"])
        self.assertEqual(m["arr.bool"], [True, False])
        self.assertEqual(m["arr.nested"], [[1, 2], [], [3]])
        self.assertEqual(m["arr.empty"], [])
        self.assertEqual(g.metadata_types["arr.i32"], (gguf_read.T_ARRAY, gguf_read.T_INT32))

    def test_tensor_directory_and_data(self):
        g = gguf_read.GGUFFile(self.write_sample())
        self.assertEqual(g.alignment, 32)
        self.assertEqual(g.data_offset % 32, 0)
        a, b = g.tensor("a"), g.tensor("b")
        self.assertEqual((a.ne, a.shape, a.ggml_type), ((3,), (3,), quants.F32))
        self.assertEqual((b.ne, b.shape, b.n_rows, b.row_bytes), ((32, 2), (2, 32), 2, 18))
        self.assertEqual(b.offset - g.data_offset, 32)           # 12 bytes of a, padded to 32
        np.testing.assert_array_equal(quants.dequantize_rows(a, 0, 1), [[1, 2, 3]])
        rows = quants.dequantize_rows(b, 0, 2)
        np.testing.assert_array_equal(rows[1], 2.0 * np.tile(np.arange(-8, 8), 2))
        self.assertIsInstance(g.data, np.memmap)

    def test_custom_alignment(self):
        g = gguf_read.GGUFFile(self.write_sample(alignment=64))
        self.assertEqual(g.alignment, 64)
        self.assertEqual(g.data_offset % 64, 0)
        self.assertEqual(g.tensor("b").offset - g.data_offset, 64)
        np.testing.assert_array_equal(quants.dequantize_rows(g.tensor("a"), 0, 1), [[1, 2, 3]])

    def corrupt(self, data, name="bad.gguf"):
        p = self.path(name)
        with open(p, "wb") as f:
            f.write(data)
        return p

    def test_bad_magic(self):
        data = open(self.write_sample(), "rb").read()
        with self.assertRaisesRegex(gguf_read.GGUFError, "bad magic"):
            gguf_read.GGUFFile(self.corrupt(b"GGML" + data[4:]))

    def test_version_2(self):
        data = bytearray(open(self.write_sample(), "rb").read())
        data[4:8] = struct.pack("<I", 2)
        with self.assertRaisesRegex(gguf_read.GGUFError, "version 2"):
            gguf_read.GGUFFile(self.corrupt(bytes(data)))

    def test_big_endian(self):
        data = bytearray(open(self.write_sample(), "rb").read())
        data[4:8] = struct.pack(">I", 3)
        with self.assertRaisesRegex(gguf_read.GGUFError, "big-endian"):
            gguf_read.GGUFFile(self.corrupt(bytes(data)))

    def test_truncated_anywhere(self):
        data = open(self.write_sample(), "rb").read()
        g = gguf_read.GGUFFile(self.write_sample("again.gguf"))
        cuts = [0, 3, 10, 23, 40, 100, g.data_offset - 5, g.data_offset + 40, len(data) - 1]
        for cut in cuts:
            with self.subTest(cut=cut):
                with self.assertRaisesRegex(gguf_read.GGUFError, "truncated"):
                    gguf_read.GGUFFile(self.corrupt(data[:cut], f"cut{cut}.gguf"))

    def test_absurd_counts(self):
        data = bytearray(open(self.write_sample(), "rb").read())
        data[16:24] = struct.pack("<Q", 2 ** 60)          # metadata count
        with self.assertRaisesRegex(gguf_read.GGUFError, "truncated"):
            gguf_read.GGUFFile(self.corrupt(bytes(data)))

    def test_bad_alignment_and_offset(self):
        w = gw.GGUFWriter()
        w.add("general.alignment", gw.U32, 24)
        with self.assertRaisesRegex(gguf_read.GGUFError, "power of two"):
            p = self.path("align.gguf")
            w.write(p)
            gguf_read.GGUFFile(p)
        w = gw.GGUFWriter()
        w.add_tensor("a", (8,), gw.GGML_F32, gw.f32_bytes(np.zeros(8)))
        data = bytearray(w.header_bytes())
        data[-8:] = struct.pack("<Q", 4)                  # offset of "a": not aligned
        data += bytes(-len(data) % 32) + bytes(64)
        with self.assertRaisesRegex(gguf_read.GGUFError, "multiple of the alignment"):
            gguf_read.GGUFFile(self.corrupt(bytes(data)))


# ---- toy models and the direct formula ------------------------------------------------------

def _values(rng, shape, wtype, one_scale=False, store_transposed=False):
    """Random weights of the given (numpy-orientation) shape, exactly representable in wtype,
    and the bytes that store them (of the last two axes swapped if store_transposed).
    one_scale: quantized types use a single d, so the values fit blocks along either axis."""
    shape = tuple(shape)

    def stored(a):
        return a.transpose(0, 2, 1) if store_transposed else a

    if wtype == quants.F32:
        v = rng.standard_normal(shape).astype(np.float32).astype(np.float64) * 0.5
        return v, gw.f32_bytes(stored(v))
    if wtype == quants.F16:
        v = (rng.standard_normal(shape) * 0.5).astype(np.float16).astype(np.float64)
        return v, gw.f16_bytes(stored(v))
    if wtype == quants.BF16:
        v = (rng.standard_normal(shape) * 0.5).astype(np.float32)
        v = ((v.view(np.uint32) >> 16) << 16).view(np.float32).astype(np.float64)
        return v, gw.bf16_bytes(stored(v))
    n = int(np.prod(shape))
    scales = [0.03125, 0.0625, 0.09375, 0.125]
    d = np.full(n // 32, rng.choice(scales)) if one_scale else rng.choice(scales, size=n // 32)
    if wtype == quants.Q4_0:
        q = rng.integers(-8, 8, size=shape)
    else:
        q = rng.integers(-127, 128, size=shape) // 16
    v = (d[:, None] * q.reshape(-1, 32)).reshape(shape)
    encode = gw.q4_0_bytes_from if wtype == quants.Q4_0 else gw.q8_0_bytes_from
    return v, encode(d, stored(q))


def make_toy(path, *, E=8, n_head=4, n_kv=2, Dh=4, Dv=None, X=4, k=2, F=6, V=11, n_layer=1,
             sliding_window=None, gating=1, tied=False, transposed=False, wtype=quants.F32,
             profiler=False, seed=0, rope_theta=10000.0, eps=1e-5):
    """Writes a toy SmallThinker GGUF; returns (weights in PyTorch orientation, config)."""
    Dv = Dh if Dv is None else Dv
    rng = np.random.default_rng(seed)
    w = gw.GGUFWriter()
    p = "smallthinker."
    w.add("general.architecture", gw.STRING, "smallthinker")
    for key, val in [("block_count", n_layer), ("context_length", 64), ("embedding_length", E),
                     ("feed_forward_length", F), ("expert_feed_forward_length", F),
                     ("attention.head_count", n_head), ("attention.head_count_kv", n_kv),
                     ("attention.key_length", Dh), ("attention.value_length", Dv),
                     ("expert_count", X), ("expert_used_count", k)]:
        w.add(p + key, gw.U32, val)
    w.add(p + "rope.freq_base", gw.F32, rope_theta)
    w.add(p + "attention.layer_norm_rms_epsilon", gw.F32, eps)
    if gating is not None:
        w.add(p + "expert_gating_func", gw.U32, gating)
    if sliding_window is not None:
        w.add(p + "attention.sliding_window", gw.U32, sliding_window)
    W = {}

    def tensor(name, shape, t, **kw):
        # shape in PyTorch/numpy orientation; GGUF ne is reversed.
        vals, raw = _values(rng, shape, t, **kw)
        ne = tuple(reversed(shape))
        if kw.get("store_transposed"):
            ne = (ne[1], ne[0], ne[2])
        w.add_tensor(name, ne, t, raw)
        W[name] = vals

    def norm(name):
        vals = (1.0 + 0.25 * rng.standard_normal(E)).astype(np.float32).astype(np.float64)
        w.add_tensor(name, (E,), gw.GGML_F32, gw.f32_bytes(vals))
        W[name] = vals

    tensor("token_embd.weight", (V, E), wtype)
    norm("output_norm.weight")
    if not tied:
        tensor("output.weight", (V, E), wtype)
    if profiler:
        w.add_tensor("lm_head_profiler.weight", (64, 1), gw.GGML_Q4_0, bytes(36))
    for il in range(n_layer):
        b = f"blk.{il}."
        norm(b + "attn_norm.weight")
        tensor(b + "attn_q.weight", (n_head * Dh, E), wtype)
        tensor(b + "attn_k.weight", (n_kv * Dh, E), wtype)
        tensor(b + "attn_v.weight", (n_kv * Dv, E), wtype)
        tensor(b + "attn_output.weight", (E, n_head * Dv), wtype)
        norm(b + "ffn_norm.weight")
        tensor(b + "ffn_gate_inp.weight", (X, E), quants.F32)
        tensor(b + "ffn_gate_exps.weight", (X, F, E), wtype)
        tensor(b + "ffn_up_exps.weight", (X, F, E), wtype)
        # Down as (X, E, F); stored as ne {F, E, X}, or transposed as ne {E, F, X}. One
        # scale per tensor, so both layouts hold the same values.
        tensor(b + "ffn_down_exps.weight", (X, E, F), wtype, one_scale=True,
               store_transposed=transposed)
    w.write(path)
    cfg = dict(E=E, n_head=n_head, n_kv=n_kv, Dh=Dh, Dv=Dv, X=X, k=k, F=F, V=V,
               n_layer=n_layer, window=sliding_window or 0, tied=tied, theta=rope_theta,
               eps=eps, transposed=transposed, wtype=wtype,
               gating="softmax" if gating == 1 else "sigmoid")
    return W, cfg


def direct_forward(W, c, tokens, emulate=False, kv="exact", gating=None):
    """Spec §4 token by token, with explicit loops; returns logits [n, V]."""
    gating = gating or c["gating"]
    quantized = emulate and c["wtype"] in (quants.Q4_0, quants.Q8_0)

    def mv(w, x, quantize_input=True):                 # matrix-vector product
        if quantized and quantize_input:
            x = quants.q8_0_roundtrip(x)
        return w @ x

    def rmsnorm(x, wn):
        return x / math.sqrt(sum(v * v for v in x) / len(x) + c["eps"]) * wn

    def cache(a):
        return {"exact": a, "f16": a.astype(np.float16).astype(np.float64),
                "f32": a.astype(np.float32).astype(np.float64)}[kv]

    def rope(v, pos):
        half = len(v) // 2
        out = v.copy()
        for i in range(half):
            ang = pos * c["theta"] ** (-2.0 * i / len(v))
            out[i] = v[i] * math.cos(ang) - v[i + half] * math.sin(ang)
            out[i + half] = v[i] * math.sin(ang) + v[i + half] * math.cos(ang)
        return out

    Kc = [[] for _ in range(c["n_layer"])]
    Vc = [[] for _ in range(c["n_layer"])]
    logits = []
    for pos, tok in enumerate(tokens):
        x = W["token_embd.weight"][tok].copy()
        for il in range(c["n_layer"]):
            b = f"blk.{il}."
            sliding = c["window"] > 0 and il % 4 != 0
            use_rope = c["window"] == 0 or il % 4 != 0
            r = W[b + "ffn_gate_inp.weight"] @ x
            chosen = sorted(range(c["X"]), key=lambda e: (-r[e], e))[:c["k"]]
            if gating == "softmax":
                m = max(r[e] for e in chosen)
                z = [math.exp(r[e] - m) for e in chosen]
            else:
                z = [1.0 / (1.0 + math.exp(-r[e])) for e in chosen]
            weights = [v / sum(z) for v in z]

            h = rmsnorm(x, W[b + "attn_norm.weight"])
            q = mv(W[b + "attn_q.weight"], h)
            kk = mv(W[b + "attn_k.weight"], h)
            vv = mv(W[b + "attn_v.weight"], h)
            Dh, Dv = c["Dh"], c["Dv"]
            qs = [q[i * Dh:(i + 1) * Dh] for i in range(c["n_head"])]
            ks = [kk[i * Dh:(i + 1) * Dh] for i in range(c["n_kv"])]
            vs = [vv[i * Dv:(i + 1) * Dv] for i in range(c["n_kv"])]
            if use_rope:
                qs = [rope(v, pos) for v in qs]
                ks = [rope(v, pos) for v in ks]
            Kc[il].append([cache(v) for v in ks])
            Vc[il].append([cache(v) for v in vs])
            heads = []
            for hq in range(c["n_head"]):
                hk = hq // (c["n_head"] // c["n_kv"])
                keys = [p0 for p0 in range(pos + 1) if not (sliding and pos - p0 >= c["window"])]
                s = [float(qs[hq] @ Kc[il][p0][hk]) / math.sqrt(Dh) for p0 in keys]
                m = max(s)
                e = [math.exp(v - m) for v in s]
                heads.append(sum(e[i] / sum(e) * Vc[il][p0][hk] for i, p0 in enumerate(keys)))
            x = x + mv(W[b + "attn_output.weight"], np.concatenate(heads))

            u = rmsnorm(x, W[b + "ffn_norm.weight"])
            ffn = np.zeros(c["E"])
            for wgt, e in zip(weights, chosen):
                g = mv(W[b + "ffn_gate_exps.weight"][e], u)
                up = mv(W[b + "ffn_up_exps.weight"][e], u)
                hid = np.array([max(gi, 0.0) * ui for gi, ui in zip(g, up)])
                down = W[b + "ffn_down_exps.weight"][e]                     # (E, F)
                if c["transposed"]:
                    y = sum(hid[n] * down[:, n] for n in range(c["F"]))    # axpy of rows
                else:
                    y = mv(down, hid)
                ffn = ffn + wgt * y
            x = x + ffn
        xn = rmsnorm(x, W["output_norm.weight"])
        w_out = W["token_embd.weight"] if c["tied"] else W["output.weight"]
        logits.append(mv(w_out, xn))
    return np.array(logits)


TOKENS = [3, 7, 1, 3, 10, 0]


class ForwardTest(TempDirTest):
    def check(self, W, c, path, tokens=TOKENS, emulate=False, kv=None, gating="auto",
              direct_kv="exact", direct_gating=None, tol=1e-10):
        got = ref.run_reference(path, tokens, emulate=emulate, kv_type=kv, router_gating=gating)
        want = direct_forward(W, c, tokens, emulate=emulate, kv=direct_kv, gating=direct_gating)
        self.assertEqual(got.shape, (len(tokens), c["V"]))
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
        return got

    def test_rope_by_hand(self):
        # Dh = 4, pos = 1, theta = 10000: pair (0, 2) turns by 1 rad, pair (1, 3) by 0.01 rad.
        x = np.array([[[1.0, 2.0, 3.0, 4.0]]])
        y = ref.rope_neox(x, [1], 10000.0)[0, 0]
        c0, s0, c1, s1 = math.cos(1), math.sin(1), math.cos(0.01), math.sin(0.01)
        np.testing.assert_allclose(y, [1 * c0 - 3 * s0, 2 * c1 - 4 * s1,
                                       1 * s0 + 3 * c0, 2 * s1 + 4 * c1], rtol=1e-15)
        np.testing.assert_array_equal(ref.rope_neox(x, [0], 10000.0), x)

    def test_select_experts_ties_and_weights(self):
        r = np.array([[1.0, 3.0, 3.0, 0.0, 3.0]])
        sel, w = ref.select_experts(r, 2, ref.GATING_SIGMOID)
        np.testing.assert_array_equal(sel, [[1, 2]])
        np.testing.assert_allclose(w, [[0.5, 0.5]])
        r = np.array([[0.0, math.log(3.0), -5.0]])
        sel, w = ref.select_experts(r, 2, ref.GATING_SOFTMAX)
        np.testing.assert_array_equal(sel, [[1, 0]])
        np.testing.assert_allclose(w, [[0.75, 0.25]])
        sel, w = ref.select_experts(r, 2, ref.GATING_SIGMOID)
        s3, s0 = 3.0 / 4.0, 0.5                              # σ(ln 3) = 3/4, σ(0) = 1/2
        np.testing.assert_allclose(w, [[s3 / (s3 + s0), s0 / (s3 + s0)]])

    def test_one_layer_gqa_softmax(self):
        p = self.path("toy.gguf")
        W, c = make_toy(p, gating=1)
        self.check(W, c, p)

    def test_head_dim_from_key_length(self):
        # Dh = 6 and Dv = 4 while E / n_head = 4: only the keys say the truth.
        p = self.path("dh.gguf")
        W, c = make_toy(p, E=8, n_head=2, n_kv=2, Dh=6, Dv=4, seed=3)
        self.check(W, c, p)

    def test_sliding_window_2_and_nope(self):
        # sliding_window = 2: layer 0 is NoPE + global, layer 1 RoPE + sliding (a query sees
        # itself and one key before it).
        p = self.path("swa.gguf")
        W, c = make_toy(p, n_layer=2, sliding_window=2, seed=5)
        got = self.check(W, c, p)
        model = ref.Model(p)
        self.assertEqual([model.cfg.uses_rope(il) for il in range(2)], [False, True])
        self.assertEqual([model.cfg.window(il) for il in range(2)], [0, 2])
        # The window matters only from position 2 on; the same weights with a wide window.
        p2 = self.path("swa_wide.gguf")
        make_toy(p2, n_layer=2, sliding_window=100, seed=5)
        wide = ref.run_reference(p2, TOKENS)
        np.testing.assert_allclose(got[:2], wide[:2], rtol=1e-12, atol=1e-12)
        self.assertGreater(np.abs(got[2:] - wide[2:]).max(), 1e-6)
        # Layer 0 without RoPE: its logits do not depend on where a token sits.
        p1 = self.path("nope1.gguf")
        W1, c1 = make_toy(p1, n_layer=1, sliding_window=2, seed=6)
        a = ref.run_reference(p1, [4, 4, 4])
        np.testing.assert_allclose(a[0], a[2], rtol=1e-12, atol=1e-12)
        self.check(W1, c1, p1)

    def test_tied_output_and_gating(self):
        p = self.path("tied.gguf")
        W, c = make_toy(p, tied=True, gating=None, seed=7, X=5, k=3)
        self.assertTrue(ref.Model(p).tied_output)
        sig = self.check(W, c, p)                                        # absent -> sigmoid
        soft = self.check(W, c, p, gating="softmax", direct_gating="softmax")
        self.assertGreater(np.abs(sig - soft).max(), 1e-6)
        p2 = self.path("sig.gguf")
        W2, c2 = make_toy(p2, gating=2, seed=8)
        self.check(W2, c2, p2)
        self.check(W2, c2, p2, gating="softmax", direct_gating="softmax")

    def test_transposed_down_equals_normal(self):
        pn, pt = self.path("normal.gguf"), self.path("transposed.gguf")
        Wn, cn = make_toy(pn, seed=9, F=6)
        Wt, ct = make_toy(pt, seed=9, F=6, transposed=True)
        self.assertFalse(ref.Model(pn).layers[0]["down_transposed"])
        self.assertTrue(ref.Model(pt).layers[0]["down_transposed"])
        a = self.check(Wn, cn, pn)
        b = self.check(Wt, ct, pt)
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)

    def test_float_weight_types(self):
        for t in (quants.F16, quants.BF16):
            with self.subTest(type=quants.type_name(t)):
                p = self.path(f"t{t}.gguf")
                W, c = make_toy(p, wtype=t, seed=10)
                self.check(W, c, p)
                # Float weights: emulation changes only the KV cache.
                self.check(W, c, p, emulate=True, direct_kv="f16", tol=1e-9)

    def test_profiler_tensor_ignored(self):
        p, q = self.path("plain.gguf"), self.path("profiler.gguf")
        make_toy(p, seed=11)
        make_toy(q, seed=11, profiler=True)
        np.testing.assert_array_equal(ref.run_reference(p, TOKENS), ref.run_reference(q, TOKENS))

    def quantized_toy(self, name, wtype, transposed=False):
        p = self.path(name)
        W, c = make_toy(p, E=64, n_head=4, n_kv=2, Dh=32, X=4, k=2, F=96, V=40, n_layer=2,
                        sliding_window=3, wtype=wtype, transposed=transposed, seed=12)
        return p, W, c

    def test_quantized_exact_and_emulated(self):
        tokens = [5, 39, 0, 17, 17, 2, 30]
        for wtype in (quants.Q4_0, quants.Q8_0):
            for transposed in (False, True):
                with self.subTest(type=quants.type_name(wtype), transposed=transposed):
                    p, W, c = self.quantized_toy(f"q{wtype}{transposed}.gguf", wtype, transposed)
                    exact = self.check(W, c, p, tokens)
                    em = self.check(W, c, p, tokens, emulate=True, direct_kv="f16", tol=1e-8)
                    self.check(W, c, p, tokens, emulate=True, kv="f32", direct_kv="f32",
                               tol=1e-8)
                    self.assertGreater(np.abs(exact - em).max(), 1e-6)

    def test_emulation_quantizes_normal_down_only(self):
        # Same weights in both layouts: exact logits agree, emulated ones differ because only
        # the normal layout quantizes the ReGLU hidden vector.
        pn, W, c = self.quantized_toy("qn.gguf", quants.Q8_0)
        pt, _, _ = self.quantized_toy("qt.gguf", quants.Q8_0, transposed=True)
        tokens = [1, 2, 3]
        np.testing.assert_allclose(ref.run_reference(pn, tokens), ref.run_reference(pt, tokens),
                                   rtol=1e-12, atol=1e-12)
        en = ref.run_reference(pn, tokens, emulate=True)
        et = ref.run_reference(pt, tokens, emulate=True)
        self.assertGreater(np.abs(en - et).max(), 1e-9)

    def test_model_errors(self):
        p = self.path("noexp.gguf")
        w = gw.GGUFWriter()
        w.add("general.architecture", gw.STRING, "smallthinker")
        for key in ("block_count", "embedding_length", "attention.head_count",
                    "attention.key_length", "expert_count", "expert_used_count"):
            w.add("smallthinker." + key, gw.U32, {"embedding_length": 32,
                                                  "attention.key_length": 2}.get(key, 1))
        w.add("smallthinker.rope.freq_base", gw.F32, 1e4)
        w.add("smallthinker.attention.layer_norm_rms_epsilon", gw.F32, 1e-6)
        w.add_tensor("token_embd.weight", (32, 2), gw.GGML_F32, gw.f32_bytes(np.zeros(64)))
        w.add_tensor("output_norm.weight", (32,), gw.GGML_F32, gw.f32_bytes(np.ones(32)))
        w.write(p)
        with self.assertRaisesRegex(ref.ModelError, "bundle"):
            ref.Model(p)
        q = self.path("llama.gguf")
        w = gw.GGUFWriter()
        w.add("general.architecture", gw.STRING, "llama")
        w.write(q)
        with self.assertRaisesRegex(ref.ModelError, "architecture"):
            ref.Model(q)


# ---- command lines ---------------------------------------------------------------------------

def run_main(main, argv):
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            rc = main(argv)
        except SystemExit as e:
            rc = e.code
    return rc, out.getvalue(), err.getvalue()


class CommandLineTest(TempDirTest):
    def test_reference_cli(self):
        p = self.path("cli.gguf")
        W, c = make_toy(p, seed=13)
        o = self.path("logits.npy")
        rc, _, err = run_main(ref.main, ["-m", p, "--token-ids", "3,7,1", "-o", o])
        self.assertEqual(rc, 0, err)
        a = np.load(o)
        self.assertEqual((a.dtype, a.shape), (np.float32, (3, c["V"])))
        want = direct_forward(W, c, [3, 7, 1])
        np.testing.assert_allclose(a, want, rtol=1e-6, atol=1e-6)
        self.assertIn(f"argmax={np.argmax(want, axis=-1).tolist()}", err)
        self.assertIn("n_tokens=3 tokens=[3, 7, 1]", err)
        rc, _, err = run_main(ref.main, ["-m", p, "--token-ids", "3,99", "-o", o])
        self.assertEqual(rc, 1)
        self.assertIn("outside the vocabulary", err)

    def compare(self, engine, reference, *extra):
        pe, pr = self.path("e.npy"), self.path("r.npy")
        np.save(pe, np.asarray(engine, dtype=np.float32))
        np.save(pr, np.asarray(reference, dtype=np.float32))
        rc, out, err = run_main(compare_logits.main, [pe, pr, *extra])
        return rc, (json.loads(out) if out else None), err

    def test_compare_identical_and_thresholds(self):
        r = np.array([[0.0, 1.0, 2.0], [3.0, 0.0, 0.0]])
        rc, s, _ = self.compare(r, r, "--max-abs", "0", "--max-mean-kl", "0", "--min-top1", "1")
        self.assertEqual(rc, 0)
        self.assertEqual((s["max_abs_diff"], s["mean_kl"], s["top1_agreement"]), (0.0, 0.0, 1.0))
        self.assertEqual(s["argmax_reference"], [2, 0])
        e = r + np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 3.5]])           # position 1 flips
        rc, s, err = self.compare(e, r, "--max-abs", "1")
        self.assertEqual(rc, 1)
        self.assertIn("max |Δlogit|", err)
        self.assertEqual((s["max_abs_diff"], s["top1_agreement"]), (3.5, 0.5))
        self.assertAlmostEqual(s["mean_abs_diff"], 3.5 / 6)
        self.assertEqual(self.compare(e, r, "--min-top1", "0.9")[0], 1)
        self.assertEqual(self.compare(e, r, "--min-top1", "0.5")[0], 0)
        self.assertEqual(self.compare(e, r, "--max-mean-kl", "1e-3")[0], 1)

    def test_compare_kl_by_hand(self):
        # ref softmax (1/2, 1/2), engine (3/4, 1/4): KL = ½ ln(½/¾) + ½ ln(½/¼) = ½ ln(4/3).
        rc, s, _ = self.compare([[math.log(3.0), 0.0]], [[0.0, 0.0]])
        self.assertEqual(rc, 0)
        self.assertAlmostEqual(s["mean_kl"], 0.5 * math.log(4.0 / 3.0), places=7)
        self.assertAlmostEqual(s["max_kl"], s["kl_per_position"][0])

    def test_compare_expect_tokens(self):
        r = np.zeros((4, 6))
        r[1, 2] = r[2, 5] = r[3, 1] = 1.0                               # argmax 0, 2, 5, 1
        self.assertEqual(self.compare(r, r, "--expect-tokens", "2,5,1", "--n-prompt", "2")[0], 0)
        rc, _, err = self.compare(r, r, "--expect-tokens", "2,4", "--n-prompt", "2")
        self.assertEqual(rc, 1)
        self.assertIn("position 2", err)
        rc, _, err = self.compare(r, r, "--expect-tokens", "2,5,1,0", "--n-prompt", "2")
        self.assertEqual(rc, 1)
        self.assertEqual(self.compare(r, r, "--expect-tokens", "2")[0], 2)   # needs --n-prompt

    def test_compare_bad_inputs(self):
        self.assertEqual(self.compare(np.zeros((2, 3)), np.zeros((2, 4)))[0], 2)
        e = np.zeros((1, 3))
        e[0, 1] = np.nan
        rc, _, err = self.compare(e, np.zeros((1, 3)), "--max-abs", "100")
        self.assertEqual(rc, 1)
        self.assertIn("non-finite", err)


if __name__ == "__main__":
    unittest.main()
