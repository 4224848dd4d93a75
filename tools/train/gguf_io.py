"""Minimal GGUF v3 writer and reader (little-endian, alignment 32) with ggml's F32, F16, BF16,
Q8_0 and Q4_0 formats, written from the GGUF specification; no dependency on gguf-py.

Quantization follows ggml's reference code (quantize_row_q8_0_ref / quantize_row_q4_0_ref):
  Q8_0: 32 weights per block: fp16 d = amax/127, int8 q = roundf(x/d)  (round half away from 0)
  Q4_0: 32 weights per block: d = max/-8 where max is the signed value of largest magnitude
        (first one on ties), q = min(15, trunc(x/d + 8.5)); byte j = q[j] | q[j+16] << 4; fp16 d.
Dequantization uses the fp16-rounded d, as an engine does.
"""
import struct

import numpy as np

GGUF_MAGIC = b"GGUF"
GGUF_VERSION = 3
ALIGNMENT = 32

# GGUF metadata value types
T_UINT8, T_INT8, T_UINT16, T_INT16, T_UINT32, T_INT32, T_FLOAT32, T_BOOL, T_STRING, T_ARRAY, \
    T_UINT64, T_INT64, T_FLOAT64 = range(13)
_SCALAR_FMT = {T_UINT8: "<B", T_INT8: "<b", T_UINT16: "<H", T_INT16: "<h", T_UINT32: "<I",
               T_INT32: "<i", T_FLOAT32: "<f", T_BOOL: "<?", T_UINT64: "<Q", T_INT64: "<q",
               T_FLOAT64: "<d"}

# ggml tensor types
GGML_F32, GGML_F16, GGML_Q4_0, GGML_Q8_0, GGML_BF16 = 0, 1, 2, 8, 30
TYPE_NAMES = {GGML_F32: "F32", GGML_F16: "F16", GGML_Q4_0: "Q4_0", GGML_Q8_0: "Q8_0", GGML_BF16: "BF16"}
TYPE_BY_NAME = {v.lower(): k for k, v in TYPE_NAMES.items()}
# (block size in elements, bytes per block)
BLOCK = {GGML_F32: (1, 4), GGML_F16: (1, 2), GGML_BF16: (1, 2), GGML_Q8_0: (32, 34), GGML_Q4_0: (32, 18)}
# llama.cpp general.file_type values
FILE_TYPE = {GGML_F32: 0, GGML_F16: 1, GGML_Q4_0: 2, GGML_Q8_0: 7, GGML_BF16: 32}


def tensor_nbytes(ggml_type, n_elements):
    bs, bb = BLOCK[ggml_type]
    assert n_elements % bs == 0, (ggml_type, n_elements)
    return n_elements // bs * bb


# ---------------------------------------------------------------------------------- quantization
def _roundf(v):
    """C roundf: half away from zero (numpy's round is half to even)."""
    return np.sign(v) * np.floor(np.abs(v) + np.float32(0.5))


def quantize_q8_0(x):
    x = np.ascontiguousarray(x, dtype=np.float32).reshape(-1, 32)
    amax = np.abs(x).max(axis=1)
    d = (amax / np.float32(127)).astype(np.float32)
    with np.errstate(divide="ignore"):
        idv = np.where(d != 0, np.float32(1) / d, np.float32(0)).astype(np.float32)
    q = _roundf(x * idv[:, None]).astype(np.int8)
    out = np.empty((x.shape[0], 34), dtype=np.uint8)
    out[:, 0:2] = d.astype(np.float16).view(np.uint8).reshape(-1, 2)
    out[:, 2:] = q.view(np.uint8)
    return out.reshape(-1)


def dequantize_q8_0(b, n):
    b = np.frombuffer(b, dtype=np.uint8).reshape(-1, 34)[: n // 32]
    d = b[:, 0:2].copy().view(np.float16).astype(np.float32)
    q = b[:, 2:].copy().view(np.int8).astype(np.float32)
    return (q * d).reshape(-1)


def quantize_q4_0(x):
    x = np.ascontiguousarray(x, dtype=np.float32).reshape(-1, 32)
    imax = np.abs(x).argmax(axis=1)                     # first index of the largest |x|
    mx = x[np.arange(x.shape[0]), imax]
    d = (mx / np.float32(-8)).astype(np.float32)
    with np.errstate(divide="ignore"):
        idv = np.where(d != 0, np.float32(1) / d, np.float32(0)).astype(np.float32)
    v = x * idv[:, None] + np.float32(8.5)
    q = np.minimum(15, np.trunc(v).astype(np.int32)).astype(np.uint8)   # (int8_t) cast truncates
    out = np.empty((x.shape[0], 18), dtype=np.uint8)
    out[:, 0:2] = d.astype(np.float16).view(np.uint8).reshape(-1, 2)
    out[:, 2:] = q[:, :16] | (q[:, 16:] << 4)
    return out.reshape(-1)


def dequantize_q4_0(b, n):
    b = np.frombuffer(b, dtype=np.uint8).reshape(-1, 18)[: n // 32]
    d = b[:, 0:2].copy().view(np.float16).astype(np.float32)
    qs = b[:, 2:]
    lo = (qs & 0xF).astype(np.float32) - 8
    hi = (qs >> 4).astype(np.float32) - 8
    return (np.concatenate([lo, hi], axis=1) * d).reshape(-1)


def to_bf16_bits(x):
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    r = ((u + (0x7FFF + ((u >> 16) & 1))) >> 16).astype(np.uint16)
    nan = np.isnan(np.asarray(x, dtype=np.float32))
    r[nan] = ((u[nan] >> 16) | 64).astype(np.uint16)
    return r


def encode_tensor(x, ggml_type):
    x = np.ascontiguousarray(x, dtype=np.float32).reshape(-1)
    if ggml_type == GGML_F32:
        return x.astype("<f4").tobytes()
    if ggml_type == GGML_F16:
        return x.astype("<f2").tobytes()
    if ggml_type == GGML_BF16:
        return to_bf16_bits(x).astype("<u2").tobytes()
    if ggml_type == GGML_Q8_0:
        return quantize_q8_0(x).tobytes()
    if ggml_type == GGML_Q4_0:
        return quantize_q4_0(x).tobytes()
    raise ValueError(f"unsupported type {ggml_type}")


def decode_tensor(b, ggml_type, n):
    if ggml_type == GGML_F32:
        return np.frombuffer(b, dtype="<f4", count=n).astype(np.float32)
    if ggml_type == GGML_F16:
        return np.frombuffer(b, dtype="<f2", count=n).astype(np.float32)
    if ggml_type == GGML_BF16:
        u = np.frombuffer(b, dtype="<u2", count=n).astype(np.uint32) << 16
        return u.view(np.float32)
    if ggml_type == GGML_Q8_0:
        return dequantize_q8_0(b, n)
    if ggml_type == GGML_Q4_0:
        return dequantize_q4_0(b, n)
    raise ValueError(f"unsupported type {ggml_type}")


# ---------------------------------------------------------------------------------------- writer
def _pack_string(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


class GGUFWriter:
    """Collects metadata (key, type, value) and tensors (name, ne, type, bytes); write() emits
    header, metadata, tensor infos, padding, then each tensor's data aligned to ALIGNMENT."""

    def __init__(self):
        self.kv = []
        self.tensors = []

    def add(self, key, vtype, value, elem_type=None):
        self.kv.append((key, vtype, value, elem_type))

    def add_u32(self, k, v): self.add(k, T_UINT32, int(v))
    def add_i32(self, k, v): self.add(k, T_INT32, int(v))
    def add_f32(self, k, v): self.add(k, T_FLOAT32, float(v))
    def add_bool(self, k, v): self.add(k, T_BOOL, bool(v))
    def add_string(self, k, v): self.add(k, T_STRING, str(v))
    def add_array(self, k, elem_type, values): self.add(k, T_ARRAY, list(values), elem_type)

    def add_tensor(self, name, ne, ggml_type, data_bytes):
        n = int(np.prod(ne))
        assert len(data_bytes) == tensor_nbytes(ggml_type, n), (name, len(data_bytes))
        self.tensors.append((name, [int(v) for v in ne], ggml_type, data_bytes))

    @staticmethod
    def _value(vtype, v, elem_type=None):
        if vtype == T_STRING:
            return _pack_string(v)
        if vtype == T_ARRAY:
            out = [struct.pack("<IQ", elem_type, len(v))]
            if elem_type == T_STRING:
                out += [_pack_string(s) for s in v]
            else:
                out.append(np.asarray(v, dtype=np.dtype(_SCALAR_FMT[elem_type])).tobytes())
            return b"".join(out)
        return struct.pack(_SCALAR_FMT[vtype], v)

    def write(self, path):
        head = [GGUF_MAGIC, struct.pack("<IQQ", GGUF_VERSION, len(self.tensors), len(self.kv))]
        for key, vtype, value, et in self.kv:
            head.append(_pack_string(key) + struct.pack("<I", vtype) + self._value(vtype, value, et))
        offset = 0
        for name, ne, t, b in self.tensors:
            head.append(_pack_string(name) + struct.pack("<I", len(ne)) +
                        struct.pack(f"<{len(ne)}Q", *ne) + struct.pack("<IQ", t, offset))
            offset += len(b)
            offset += (-offset) % ALIGNMENT
        with open(path, "wb") as f:
            h = b"".join(head)
            f.write(h)
            f.write(b"\0" * ((-len(h)) % ALIGNMENT))
            for name, ne, t, b in self.tensors:
                f.write(b)
                f.write(b"\0" * ((-len(b)) % ALIGNMENT))


# ---------------------------------------------------------------------------------------- reader
class GGUFReader:
    """Reads a whole GGUF file: .version, .kv (dict key -> python value), .kv_types (key -> type,
    elem type), .tensors (dict name -> dict(ne, type, offset, nbytes)), .data_start; .array(name)
    dequantizes a tensor to float32 with numpy shape = reversed ne."""

    def __init__(self, path):
        with open(path, "rb") as f:
            self.buf = f.read()
        self.pos = 0
        if self._read(4) != GGUF_MAGIC:
            raise ValueError("not a GGUF file")
        self.version, n_tensors, n_kv = struct.unpack("<IQQ", self._read(20))
        self.kv, self.kv_types = {}, {}
        for _ in range(n_kv):
            key = self._str()
            vtype = self._u32()
            et = None
            if vtype == T_ARRAY:
                et = struct.unpack("<I", self.buf[self.pos:self.pos + 4])[0]
            self.kv[key] = self._val(vtype)
            self.kv_types[key] = (vtype, et)
        self.alignment = int(self.kv.get("general.alignment", ALIGNMENT))
        self.tensors = {}
        self.tensor_order = []
        for _ in range(n_tensors):
            name = self._str()
            nd = self._u32()
            ne = list(struct.unpack(f"<{nd}Q", self._read(8 * nd)))
            t, off = struct.unpack("<IQ", self._read(12))
            self.tensors[name] = {"ne": ne, "type": t, "offset": off,
                                  "nbytes": tensor_nbytes(t, int(np.prod(ne)))}
            self.tensor_order.append(name)
        self.data_start = self.pos + (-self.pos) % self.alignment

    def _read(self, n):
        b = self.buf[self.pos:self.pos + n]
        if len(b) != n:
            raise ValueError("truncated GGUF")
        self.pos += n
        return b

    def _u32(self):
        return struct.unpack("<I", self._read(4))[0]

    def _str(self):
        n = struct.unpack("<Q", self._read(8))[0]
        return self._read(n).decode("utf-8")

    def _val(self, vtype):
        if vtype == T_STRING:
            return self._str()
        if vtype == T_ARRAY:
            et, n = struct.unpack("<IQ", self._read(12))
            if et == T_STRING:
                return [self._str() for _ in range(n)]
            dt = np.dtype(_SCALAR_FMT[et])
            a = np.frombuffer(self._read(n * dt.itemsize), dtype=dt)
            return a.tolist()
        fmt = _SCALAR_FMT[vtype]
        return struct.unpack(fmt, self._read(struct.calcsize(fmt)))[0]

    def raw(self, name):
        t = self.tensors[name]
        s = self.data_start + t["offset"]
        return self.buf[s:s + t["nbytes"]]

    def array(self, name):
        t = self.tensors[name]
        n = int(np.prod(t["ne"]))
        return decode_tensor(self.raw(name), t["type"], n).reshape(list(reversed(t["ne"])))
