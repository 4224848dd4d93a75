"""Weight formats for the Python reference: dequantization to float64, and the Q8_0 quantizer
that --emulate-engine applies to matmul inputs.

Block formats (docs/smallthinker-spec.md §3), little-endian:
    F32   one float32 per element
    F16   one IEEE half per element
    BF16  one bfloat16 per element (the top 16 bits of a float32)
    Q8_0  blocks of 32 elements in 34 bytes: fp16 d, then 32 int8 q;       value = d * q
    Q4_0  blocks of 32 elements in 18 bytes: fp16 d, then 16 bytes qs;     value = d * q with
          element j (0..15)  q = (qs[j] & 0xF) - 8,
          element j + 16     q = (qs[j] >> 4)  - 8
Everything here works on whole arrays of blocks at once.
"""

import numpy as np

# ggml type ids.
F32, F16, Q4_0, Q8_0, BF16 = 0, 1, 2, 8, 30

# id -> (name, elements per block, bytes per block). The dequantizable types come first; the
# others are listed only so that a file holding them can still be opened and its sizes checked.
TYPE_INFO = {
    F32: ("F32", 1, 4),
    F16: ("F16", 1, 2),
    Q4_0: ("Q4_0", 32, 18),
    Q8_0: ("Q8_0", 32, 34),
    BF16: ("BF16", 1, 2),
    3: ("Q4_1", 32, 20),
    6: ("Q5_0", 32, 22),
    7: ("Q5_1", 32, 24),
    9: ("Q8_1", 32, 36),
    10: ("Q2_K", 256, 84),
    11: ("Q3_K", 256, 110),
    12: ("Q4_K", 256, 144),
    13: ("Q5_K", 256, 176),
    14: ("Q6_K", 256, 210),
    15: ("Q8_K", 256, 292),
    24: ("I8", 1, 1),
    25: ("I16", 1, 2),
    26: ("I32", 1, 4),
    27: ("I64", 1, 8),
    28: ("F64", 1, 8),
}

DEQUANTIZABLE = (F32, F16, BF16, Q8_0, Q4_0)
# Weight types whose matmuls quantize their input to Q8_0 in the llama.cpp-family engines.
QUANTIZED_INPUT_TYPES = (Q4_0, Q8_0)

QK = 32  # block size of Q4_0 and Q8_0


def type_name(ggml_type):
    info = TYPE_INFO.get(ggml_type)
    return info[0] if info else f"type#{ggml_type}"


def row_bytes(ggml_type, n):
    """Bytes of a row of n elements."""
    _, block, size = TYPE_INFO[ggml_type]
    if n % block:
        raise ValueError(f"{type_name(ggml_type)}: row length {n} is not a multiple of {block}")
    return n // block * size


# ---- dequantization ------------------------------------------------------------------------

def _fp16_scales(blocks):
    """The leading fp16 of each block row of a (n_blocks, block_bytes) uint8 array, as float64."""
    return np.ascontiguousarray(blocks[:, :2]).view("<f2")[:, 0].astype(np.float64)


def dequantize(raw, ggml_type, n_elements=None):
    """Dequantizes raw little-endian bytes (uint8 array or bytes) to a flat float64 array."""
    raw = np.frombuffer(raw, dtype=np.uint8) if isinstance(raw, (bytes, bytearray)) else raw
    raw = np.ascontiguousarray(raw, dtype=np.uint8).reshape(-1)
    if ggml_type == F32:
        out = raw.view("<f4").astype(np.float64)
    elif ggml_type == F16:
        out = raw.view("<f2").astype(np.float64)
    elif ggml_type == BF16:
        out = (raw.view("<u2").astype(np.uint32) << 16).view("<f4").astype(np.float64)
    elif ggml_type == Q8_0:
        blocks = raw.reshape(-1, 34)
        d = _fp16_scales(blocks)
        q = blocks[:, 2:].view(np.int8).astype(np.float64)
        out = (q * d[:, None]).reshape(-1)
    elif ggml_type == Q4_0:
        blocks = raw.reshape(-1, 18)
        d = _fp16_scales(blocks)
        qs = blocks[:, 2:]
        lo = (qs & 0x0F).astype(np.int8) - 8      # elements 0..15
        hi = (qs >> 4).astype(np.int8) - 8        # elements 16..31
        q = np.concatenate([lo, hi], axis=1).astype(np.float64)
        out = (q * d[:, None]).reshape(-1)
    else:
        raise ValueError(f"dequantization of {type_name(ggml_type)} is not supported by the "
                         f"reference (supported: F32, F16, BF16, Q8_0, Q4_0)")
    if n_elements is not None and out.size != n_elements:
        raise ValueError(f"{type_name(ggml_type)}: {raw.size} bytes hold {out.size} elements, "
                         f"expected {n_elements}")
    return out


def dequantize_rows(tensor, start, stop):
    """Rows [start, stop) of a gguf_read.TensorInfo as a float64 array (stop - start, ne[0])."""
    raw = tensor.raw_rows(start, stop)
    return dequantize(raw, tensor.ggml_type).reshape(stop - start, tensor.ne[0])


# ---- the Q8_0 quantizer (ggml's reference rounding) ------------------------------------------

def round_half_away(x):
    """Round to nearest, ties away from zero (C roundf), exactly, for float32 or float64 input."""
    x = np.asarray(x, dtype=np.float64)    # float32 -> float64 is exact, and so is |x| + 0.5
    return np.copysign(np.floor(np.abs(x) + 0.5), x)


def quantize_q8_0(x):
    """Quantizes x (last axis a multiple of 32) to Q8_0 exactly like ggml's reference code.

    Per block of 32, in float32: amax = max|x|, d = amax / 127, id = 1/d (0 if d == 0),
    q = roundf(x * id); the stored scale is fp16(d).
    Returns (d as float16 array [..., n/32], q as int8 array [..., n/32, 32]).
    """
    x = np.asarray(x, dtype=np.float32)     # the engine's activations are float32
    if x.shape[-1] % QK:
        raise ValueError(f"Q8_0: length {x.shape[-1]} is not a multiple of {QK}")
    blocks = x.reshape(x.shape[:-1] + (x.shape[-1] // QK, QK))
    amax = np.max(np.abs(blocks), axis=-1)                       # float32
    d = (amax / np.float32(127)).astype(np.float32)              # float32 division
    with np.errstate(divide="ignore"):
        inv = np.where(d != 0, np.float32(1) / d, np.float32(0)).astype(np.float32)
    scaled = (blocks * inv[..., None]).astype(np.float32)        # float32 product
    q = round_half_away(scaled).astype(np.int8)
    return d.astype(np.float16), q


def q8_0_roundtrip(x):
    """What a Q8_0-input matmul actually multiplies by: fp16(d) * q, as float64, shape of x."""
    x = np.asarray(x)
    d16, q = quantize_q8_0(x)
    return (d16.astype(np.float64)[..., None] * q.astype(np.float64)).reshape(x.shape)


def q8_0_bytes(x):
    """Q8_0 blocks of x (flat, length a multiple of 32) as raw bytes, for writing test files."""
    d16, q = quantize_q8_0(np.asarray(x).reshape(-1))
    blocks = np.empty((d16.size, 34), dtype=np.uint8)
    blocks[:, :2] = d16.astype("<f2").view(np.uint8).reshape(-1, 2)
    blocks[:, 2:] = q.view(np.uint8)
    return blocks.tobytes()
