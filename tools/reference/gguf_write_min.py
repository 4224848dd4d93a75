#!/usr/bin/python3
"""A minimal GGUF v3 writer for the reference's own tests and for synthetic models.

Not a converter: it writes exactly the metadata and tensor bytes it is given. Tensor data may be
bytes or a callable returning bytes (so a multi-GB synthetic model is generated one tensor at a
time). Knobs for writing deliberately broken files: magic, version, alignment.

    /usr/bin/python3 tools/reference/gguf_write_min.py --shape 4b -o /tmp/st4b_random.gguf
writes a SmallThinker-shaped model with random Q4_0 weights (for timing the reference).
"""

import struct

import numpy as np

# Metadata value types (GGUF).
U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 = range(13)
_FMT = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f", BOOL: "<?",
        U64: "<Q", I64: "<q", F64: "<d"}

# ggml tensor types used here.
GGML_F32, GGML_F16, GGML_Q4_0, GGML_Q8_0, GGML_BF16 = 0, 1, 2, 8, 30


def _string(s):
    b = s.encode("utf-8") if isinstance(s, str) else bytes(s)
    return struct.pack("<Q", len(b)) + b


def _value(vtype, value):
    """Encodes a value (without its type tag). ARRAY values are (element_type, list)."""
    if vtype == STRING:
        return _string(value)
    if vtype == ARRAY:
        etype, items = value
        out = [struct.pack("<IQ", etype, len(items))]
        out += [_value(etype, v) for v in items]
        return b"".join(out)
    return struct.pack(_FMT[vtype], value)


class GGUFWriter:
    def __init__(self, alignment=32, magic=b"GGUF", version=3, write_alignment_key=None):
        self.alignment = alignment
        self.magic = magic
        self.version = version
        self.kv = []          # (key, type, value)
        self.tensors = []     # (name, ne, ggml_type, nbytes, data)
        if write_alignment_key is None:
            write_alignment_key = alignment != 32
        if write_alignment_key:
            self.add("general.alignment", U32, alignment)

    def add(self, key, vtype, value):
        self.kv.append((key, vtype, value))

    def add_tensor(self, name, ne, ggml_type, data, nbytes=None):
        """data: bytes, or a callable returning bytes (then give nbytes)."""
        if nbytes is None:
            nbytes = len(data)
        self.tensors.append((name, tuple(int(n) for n in ne), ggml_type, nbytes, data))

    def header_bytes(self):
        out = [self.magic, struct.pack("<IQQ", self.version, len(self.tensors), len(self.kv))]
        for key, vtype, value in self.kv:
            out.append(_string(key) + struct.pack("<I", vtype) + _value(vtype, value))
        offset = 0
        self._offsets = []
        for name, ne, ggml_type, nbytes, _ in self.tensors:
            out.append(_string(name) + struct.pack("<I", len(ne)))
            out.append(b"".join(struct.pack("<Q", n) for n in ne))
            out.append(struct.pack("<IQ", ggml_type, offset))
            self._offsets.append(offset)
            offset += (nbytes + self.alignment - 1) // self.alignment * self.alignment
        return b"".join(out)

    def write(self, path):
        head = self.header_bytes()
        with open(path, "wb") as f:
            f.write(head)
            f.write(b"\0" * (-len(head) % self.alignment))
            for i, (name, ne, ggml_type, nbytes, data) in enumerate(self.tensors):
                blob = data() if callable(data) else data
                if len(blob) != nbytes:
                    raise ValueError(f"tensor {name}: {len(blob)} bytes, declared {nbytes}")
                f.write(blob)
                if i + 1 < len(self.tensors):
                    f.write(b"\0" * (-nbytes % self.alignment))


# ---- encoders for test weights ----------------------------------------------------------------

def f32_bytes(a):
    return np.asarray(a, dtype="<f4").tobytes()


def f16_bytes(a):
    return np.asarray(a, dtype="<f2").tobytes()


def bf16_bytes(a):
    """bfloat16 by truncation of the float32 bits (tests use exactly representable values)."""
    bits = np.asarray(a, dtype="<f4").view("<u4")
    return (bits >> 16).astype("<u2").tobytes()


def q4_0_bytes_from(d, q):
    """Q4_0 blocks from scales d [nb] and integer values q [nb, 32] in -8..7 (element order:
    j in 0..15 is the low nibble of byte j, j + 16 its high nibble)."""
    d = np.asarray(d, dtype=np.float32).reshape(-1)
    q = np.asarray(q, dtype=np.int64).reshape(-1, 32)
    assert q.shape[0] == d.size and q.min() >= -8 and q.max() <= 7
    n = (q + 8).astype(np.uint8)
    blocks = np.empty((d.size, 18), dtype=np.uint8)
    blocks[:, :2] = d.astype("<f2").view(np.uint8).reshape(-1, 2)
    blocks[:, 2:] = n[:, :16] | (n[:, 16:] << 4)
    return blocks.tobytes()


def q8_0_bytes_from(d, q):
    """Q8_0 blocks from scales d [nb] and int8 values q [nb, 32]."""
    d = np.asarray(d, dtype=np.float32).reshape(-1)
    q = np.asarray(q, dtype=np.int64).reshape(-1, 32)
    blocks = np.empty((d.size, 34), dtype=np.uint8)
    blocks[:, :2] = d.astype("<f2").view(np.uint8).reshape(-1, 2)
    blocks[:, 2:] = q.astype(np.int8).view(np.uint8)
    return blocks.tobytes()


def random_q4_0_bytes(rng, n_elements, scale):
    """Random Q4_0 blocks, every d = scale (fp16), q in -7..7 with mean 0 (uniform nibbles would
    have mean -0.5, a bias that drives every token of a deep random model the same way)."""
    nb = n_elements // 32
    blocks = np.frombuffer(rng.bytes(nb * 18), dtype=np.uint8).reshape(nb, 18).copy()
    lo, hi = blocks & 0x0F, blocks >> 4
    lo[lo == 0] = 8
    hi[hi == 0] = 8
    blocks = lo | (hi << 4)
    blocks[:, :2] = np.full(nb, scale, dtype="<f2").view(np.uint8).reshape(-1, 2)
    return blocks.tobytes()


# ---- a SmallThinker-shaped random model -------------------------------------------------------

SHAPES = {
    # name: (layers, E, heads, kv heads, Dh, experts, top-k, F, V)
    "4b": (32, 1536, 12, 2, 128, 32, 4, 768, 151936),
    "tiny": (2, 64, 4, 2, 16, 4, 2, 96, 256),
}


def write_random_model(path, shape="4b", seed=0, sliding_window=0, transposed_down=False,
                       tied=True, gating=None):
    n_layer, E, n_head, n_kv, dh, X, k, F, V = SHAPES[shape]
    rng = np.random.default_rng(seed)
    w = GGUFWriter()
    p = "smallthinker."
    w.add("general.architecture", STRING, "smallthinker")
    w.add(p + "block_count", U32, n_layer)
    w.add(p + "context_length", U32, 32768)
    w.add(p + "embedding_length", U32, E)
    w.add(p + "feed_forward_length", U32, F)
    w.add(p + "expert_feed_forward_length", U32, F)
    w.add(p + "attention.head_count", U32, n_head)
    w.add(p + "attention.head_count_kv", U32, n_kv)
    w.add(p + "attention.key_length", U32, dh)
    w.add(p + "attention.value_length", U32, dh)
    w.add(p + "rope.freq_base", F32, 1.5e6)
    w.add(p + "attention.layer_norm_rms_epsilon", F32, 1e-6)
    w.add(p + "expert_count", U32, X)
    w.add(p + "expert_used_count", U32, k)
    if gating is not None:
        w.add(p + "expert_gating_func", U32, gating)
    if sliding_window:
        w.add(p + "attention.sliding_window", U32, sliding_window)

    def q4n(name, ne, fan_in):
        n = int(np.prod(ne))
        # uniform nibbles have std ~4.6; aim for weights of std ~ 1/sqrt(fan_in)
        scale = 1.0 / (4.6 * np.sqrt(fan_in))
        w.add_tensor(name, ne, GGML_Q4_0, lambda: random_q4_0_bytes(rng, n, scale),
                     nbytes=n // 32 * 18)

    def f32(name, ne, values):
        w.add_tensor(name, ne, GGML_F32, f32_bytes(values))

    q4n("token_embd.weight", (E, V), 1.0)
    f32("output_norm.weight", (E,), np.ones(E))
    if not tied:
        q4n("output.weight", (E, V), E)
    for il in range(n_layer):
        b = f"blk.{il}."
        f32(b + "attn_norm.weight", (E,), 1.0 + 0.1 * rng.standard_normal(E))
        q4n(b + "attn_q.weight", (E, n_head * dh), E)
        q4n(b + "attn_k.weight", (E, n_kv * dh), E)
        q4n(b + "attn_v.weight", (E, n_kv * dh), E)
        q4n(b + "attn_output.weight", (n_head * dh, E), n_head * dh)
        f32(b + "ffn_norm.weight", (E,), 1.0 + 0.1 * rng.standard_normal(E))
        f32(b + "ffn_gate_inp.weight", (E, X), rng.standard_normal(E * X) / np.sqrt(E))
        q4n(b + "ffn_gate_exps.weight", (E, F, X), E)
        q4n(b + "ffn_up_exps.weight", (E, F, X), E)
        q4n(b + "ffn_down_exps.weight", (E, F, X) if transposed_down else (F, E, X), F)
    w.write(path)


def main(argv=None):
    import argparse
    ap = argparse.ArgumentParser(description="Write a SmallThinker-shaped GGUF with random Q4_0 "
                                             "weights.")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--shape", choices=sorted(SHAPES), default="4b")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sliding-window", type=int, default=0)
    ap.add_argument("--transposed-down", action="store_true")
    ap.add_argument("--untied", action="store_true", help="write a separate output.weight")
    args = ap.parse_args(argv)
    write_random_model(args.output, args.shape, args.seed, args.sliding_window,
                       args.transposed_down, not args.untied)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
