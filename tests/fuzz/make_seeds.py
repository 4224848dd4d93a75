#!/usr/bin/env python3
"""Writes the committed seed corpus of the GGUF fuzzer (tests/fuzz/corpus/): hand-built files of a
few hundred bytes to a few KB, so that most mutations land on structure rather than weights.

  python3 tests/fuzz/make_seeds.py tests/fuzz/corpus
  python3 tests/fuzz/make_seeds.py --regressions tests/fuzz/regressions   (review-found inputs)

* complete, loadable SmallThinker models with E = 2..32 (every binding path: tied and separate
  output, normal and transposed down, profiler, sliding window, gating, q4_0 / q8_0 / f16 blocks);
* metadata-only files: a vocabulary, every value type, nested arrays;
* a few broken files (bad magic, version 2, big-endian, truncated, tensor out of range, ...).

Bigger generated models (smallthinker-gen, several types and layouts) are added at run time by
tools/fuzz.sh. Deterministic: rerunning rewrites identical bytes.
"""
import os
import struct
import sys

U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)
T_F32, T_F16, T_Q4_0, T_Q8_0 = 0, 1, 2, 8
BLOCK = {T_F32: (1, 4), T_F16: (1, 2), T_Q4_0: (32, 18), T_Q8_0: (32, 34)}
SCALAR_FMT = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f", BOOL: "<B",
              U64: "<Q", I64: "<q", F64: "<d"}


def gstr(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def value(t, v):
    if t == STR:
        return gstr(v)
    if t == ARR:
        et, items = v
        return struct.pack("<IQ", et, len(items)) + b"".join(value(et, x) for x in items)
    return struct.pack(SCALAR_FMT[t], v)


def nbytes(ttype, ne):
    n = 1
    for d in ne:
        n *= d
    bs, ts = BLOCK[ttype]
    return n // bs * ts


def fill(ttype, n_bytes, seed):
    """Deterministic tensor bytes; f16/q blocks get a small finite scale so values are sane."""
    out = bytearray()
    x = seed * 2654435761 & 0xFFFFFFFF
    while len(out) < n_bytes:
        x = (x * 1103515245 + 12345) & 0xFFFFFFFF
        if ttype == T_F32:
            out += struct.pack("<f", ((x >> 8) % 2001 - 1000) / 1000.0)
        else:
            out += struct.pack("<H", 0x2C00 | (x >> 16) & 0x3FF)  # f16 around 0.06
    return bytes(out[:n_bytes])


def gguf(kvs, tensors, alignment=32, version=3, magic=b"GGUF"):
    """kvs: [(key, type, value)]; tensors: [(name, type, ne, data or None)]."""
    head = magic + struct.pack("<IQQ", version, len(tensors), len(kvs))
    for k, t, v in kvs:
        head += gstr(k) + struct.pack("<I", t) + value(t, v)
    offset, blobs = 0, []
    for name, tt, ne, data in tensors:
        size = nbytes(tt, ne)
        data = data if data is not None else fill(tt, size, len(blobs) + 1)
        head += gstr(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", d) for d in ne)
        head += struct.pack("<IQ", tt, offset)
        blobs.append((offset, data))
        offset += (size + alignment - 1) // alignment * alignment
    if not tensors:
        return head
    head += b"\0" * (-len(head) % alignment)
    data = bytearray(offset)
    for off, blob in blobs:
        data[off:off + len(blob)] = blob
    return head + bytes(data)


def vocab_kvs(n_tokens):
    tokens = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] + ["t%d" % i for i in range(n_tokens - 3)]
    return [
        ("tokenizer.ggml.model", STR, "gpt2"),
        ("tokenizer.ggml.pre", STR, "qwen2"),
        ("tokenizer.ggml.tokens", ARR, (STR, tokens[:n_tokens])),
        ("tokenizer.ggml.token_type", ARR, (I32, [3, 3, 3] + [1] * (n_tokens - 3))),
        ("tokenizer.ggml.merges", ARR, (STR, ["t 0"])),
        ("tokenizer.ggml.bos_token_id", U32, 0),
        ("tokenizer.ggml.eos_token_id", U32, 2),
        ("tokenizer.ggml.padding_token_id", U32, 0),
        ("tokenizer.ggml.add_bos_token", BOOL, 0),
        ("tokenizer.chat_template", STR, "{{m}}"),
    ]


def model(E=2, F=4, n_head=1, n_kv=1, dh=2, X=2, k=1, V=3, layers=1, wt=T_F32, tied=True,
          down="normal", profiler=0, window=0, gating=2, extra_tensor=False, override=None):
    p = "smallthinker."
    kvs = [("general.architecture", STR, "smallthinker"), ("general.name", STR, "seed"),
           ("general.alignment", U32, 32),
           (p + "block_count", U32, layers), (p + "context_length", U32, 64),
           (p + "embedding_length", U32, E), (p + "feed_forward_length", U32, F),
           (p + "expert_feed_forward_length", U32, F),
           (p + "attention.head_count", U32, n_head), (p + "attention.head_count_kv", U32, n_kv),
           (p + "attention.key_length", U32, dh), (p + "attention.value_length", U32, dh),
           (p + "rope.freq_base", F32, 10000.0), (p + "attention.layer_norm_rms_epsilon", F32, 1e-6),
           (p + "expert_count", U32, X), (p + "expert_used_count", U32, k)]
    if gating:
        kvs.append((p + "expert_gating_func", U32, gating))
    if window:
        kvs.append((p + "attention.sliding_window", U32, window))
    kvs += vocab_kvs(V)
    for key, (t, v) in (override or {}).items():
        kvs = [(k, t, v) if k == key else (k, kt, kv) for k, kt, kv in kvs]
    H, K = n_head * dh, n_kv * dh
    ts = [("token_embd.weight", wt, [E, V], None), ("output_norm.weight", T_F32, [E], None)]
    if not tied:
        ts.append(("output.weight", wt, [E, V], None))
    if profiler:
        ts.append(("lm_head_profiler.weight", wt, [profiler * (E + V), 1], None))
    for il in range(layers):
        b = "blk.%d." % il
        ts += [(b + "attn_norm.weight", T_F32, [E], None), (b + "attn_q.weight", wt, [E, H], None),
               (b + "attn_k.weight", wt, [E, K], None), (b + "attn_v.weight", wt, [E, K], None),
               (b + "attn_output.weight", wt, [H, E], None), (b + "ffn_norm.weight", T_F32, [E], None),
               (b + "ffn_gate_inp.weight", T_F32, [E, X], None),
               (b + "ffn_gate_exps.weight", wt, [E, F, X], None), (b + "ffn_up_exps.weight", wt, [E, F, X], None),
               (b + "ffn_down_exps.weight", wt, [F, E, X] if down == "normal" else [E, F, X], None)]
    if extra_tensor:
        ts.append(("extra.weight", T_F32, [4], None))
    return gguf(kvs, ts)


def every_value_type():
    kvs = [("u8", U8, 200), ("i8", I8, -100), ("u16", U16, 60000), ("i16", I16, -30000),
           ("u32", U32, 4000000000), ("i32", I32, -2000000000), ("f32", F32, 1.5), ("bool", BOOL, 1),
           ("str", STR, "h\u00e9llo"), ("u64", U64, 1 << 60), ("i64", I64, -(1 << 60)), ("f64", F64, 2.25),
           ("arr", ARR, (STR, ["a", "bc", ""])),
           ("nested", ARR, (ARR, [(I32, [1, 2]), (I32, [3])])),
           ("general.alignment", U32, 64)]
    return gguf(kvs, [("t0", T_F32, [4, 2], None), ("t1", T_Q8_0, [32], None), ("t2", T_F16, [2, 1, 1, 2], None)],
                alignment=64)


def seeds():
    s = {}
    s["model_min_f32.gguf"] = model()
    s["model_untied_transposed.gguf"] = model(tied=False, down="transposed", layers=2, window=4, gating=1)
    s["model_profiler.gguf"] = model(profiler=32, gating=0, n_head=2, n_kv=1)
    s["model_q4_0.gguf"] = model(E=32, F=32, n_head=1, dh=32, X=1, wt=T_Q4_0)
    s["model_q8_0_extra.gguf"] = model(E=32, F=32, n_head=1, dh=32, X=1, wt=T_Q8_0, extra_tensor=True)
    s["model_f16.gguf"] = model(E=4, F=2, wt=T_F16, down="transposed", tied=False)
    s["vocab_only.gguf"] = gguf(vocab_kvs(5), [])
    s["every_value_type.gguf"] = every_value_type()
    s["empty_v3.gguf"] = gguf([], [])
    # Broken on purpose.
    good = model()
    s["bad_magic.gguf"] = gguf([], [], magic=b"GGML")
    s["version2.gguf"] = gguf([("a", U32, 1)], [], version=2)
    s["big_endian.gguf"] = b"GGUF" + struct.pack(">IQQ", 3, 0, 0)
    s["truncated_model.gguf"] = good[: len(good) * 2 // 3]
    s["duplicate_key.gguf"] = gguf([("a", U32, 1), ("a", U32, 2)], [])
    s["tensor_out_of_range.gguf"] = gguf([], [("w", T_F32, [8], None)])[:-8]
    s["huge_counts.gguf"] = b"GGUF" + struct.pack("<IQQ", 3, 1 << 40, 1 << 62)
    s["deep_array.gguf"] = gguf([("deep", ARR, (ARR, [(ARR, [(ARR, [(U8, [1])])])]))], [])
    return s


def regressions():
    """Inputs that once got through: found by review while writing the fuzzer (a crash input from
    libFuzzer is copied into tests/fuzz/regressions/ as it is, named after what it broke)."""
    p = "smallthinker."
    s = {}
    # A u64 value_length of 2^32 + 2 was narrowed to u32 before its range check and read as 2.
    s["value_length_wraps_to_2.gguf"] = model(override={p + "attention.value_length": (U64, (1 << 32) + 2)})
    # Likewise expert_feed_forward_length 2^32 + 4 read as 4.
    s["expert_ff_wraps_to_4.gguf"] = model(override={p + "expert_feed_forward_length": (U64, (1 << 32) + 4)})
    # Version 0 was reported as a big-endian file.
    s["version0_not_big_endian.gguf"] = gguf([], [], version=0)
    return s


def main():
    args = sys.argv[1:]
    which = seeds
    if args and args[0] == "--regressions":
        which = regressions
        args = args[1:]
    default = "regressions" if which is regressions else "corpus"
    out = args[0] if args else os.path.join(os.path.dirname(__file__), default)
    os.makedirs(out, exist_ok=True)
    for name, data in sorted(which().items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        print("%6d  %s" % (len(data), name))


if __name__ == "__main__":
    main()
