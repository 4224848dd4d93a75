"""A small, independent GGUF v3 reader for the Python reference.

Written from the file format alone (docs/smallthinker-spec.md §2-§3 and the public GGUF layout);
it shares no code with the C++ engine. Tensor data stays on disk: GGUFFile maps the whole file with
numpy.memmap and hands out byte slices, so a multi-GB model costs only what is actually read.

Layout of a GGUF v3 file (all little-endian):
    magic "GGUF" | u32 version (3) | u64 n_tensors | u64 n_kv
    n_kv  x { string key | u32 value_type | value }
    n_tensors x { string name | u32 n_dims | u64 ne[n_dims] | u32 ggml_type | u64 offset }
    padding to general.alignment (default 32)
    tensor data; each tensor at data_offset + offset (offset a multiple of the alignment)
A string is u64 length + UTF-8 bytes. An array value is u32 element type + u64 count + elements
(elements may themselves be arrays). ne is fastest-varying first: ne {in, out} is a row-major
numpy array of shape (out, in).

Every count is checked against the bytes that remain before anything is read or allocated; every
problem raises GGUFError with what, where, expected and actual.
"""

import os
import struct

import numpy as np

import quants

GGUF_MAGIC = b"GGUF"
GGUF_VERSION = 3
DEFAULT_ALIGNMENT = 32
MAX_DIMS = 4

# Metadata value types.
T_UINT8, T_INT8, T_UINT16, T_INT16, T_UINT32, T_INT32, T_FLOAT32, T_BOOL, T_STRING, T_ARRAY, \
    T_UINT64, T_INT64, T_FLOAT64 = range(13)

VALUE_TYPE_NAMES = {
    T_UINT8: "u8", T_INT8: "i8", T_UINT16: "u16", T_INT16: "i16", T_UINT32: "u32", T_INT32: "i32",
    T_FLOAT32: "f32", T_BOOL: "bool", T_STRING: "string", T_ARRAY: "array", T_UINT64: "u64",
    T_INT64: "i64", T_FLOAT64: "f64",
}

# Fixed-size scalar value types: numpy dtype (little-endian) and size in bytes.
_SCALAR_DTYPES = {
    T_UINT8: np.dtype("<u1"), T_INT8: np.dtype("<i1"), T_UINT16: np.dtype("<u2"),
    T_INT16: np.dtype("<i2"), T_UINT32: np.dtype("<u4"), T_INT32: np.dtype("<i4"),
    T_FLOAT32: np.dtype("<f4"), T_BOOL: np.dtype("u1"), T_UINT64: np.dtype("<u8"),
    T_INT64: np.dtype("<i8"), T_FLOAT64: np.dtype("<f8"),
}


class GGUFError(Exception):
    """A file that is not a GGUF v3 file we can read, with the reason."""


class _Cursor:
    """Sequential little-endian reads over a buffer, refusing to read past its end."""

    def __init__(self, buf, path):
        self.buf = buf          # memoryview of the whole file
        self.size = len(buf)
        self.pos = 0
        self.path = path

    def need(self, n, what):
        left = self.size - self.pos
        if n > left:
            raise GGUFError(f"{self.path}: truncated file: {what} needs {n} bytes at offset "
                            f"{self.pos}, only {left} left")

    def unpack(self, fmt, what):
        n = struct.calcsize(fmt)
        self.need(n, what)
        vals = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += n
        return vals[0] if len(vals) == 1 else vals

    def u32(self, what):
        return self.unpack("<I", what)

    def u64(self, what):
        return self.unpack("<Q", what)

    def string(self, what):
        n = self.u64(what + " (length)")
        self.need(n, what)
        raw = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n
        return raw.decode("utf-8", errors="surrogateescape")

    def array_of(self, dtype, count, what):
        self.need(count * dtype.itemsize, what)
        arr = np.frombuffer(self.buf, dtype=dtype, count=count, offset=self.pos)
        self.pos += count * dtype.itemsize
        return arr


class TensorInfo:
    """One entry of the tensor directory plus a way to reach its bytes.

    ne:         dimensions, fastest-varying first (GGUF order).
    shape:      the same dimensions as a row-major numpy shape (reversed ne).
    ggml_type:  the ggml type id (quants.F32, quants.Q4_0, ...).
    offset:     absolute byte offset of the data in the file.
    nbytes:     size of the data in bytes (None for a type this reader does not know).
    row_bytes:  bytes of one row of ne[0] elements.
    n_rows:     product of ne[1:].
    """

    def __init__(self, gguf, name, ne, ggml_type, rel_offset):
        self._gguf = gguf
        self.name = name
        self.ne = tuple(ne)
        self.shape = tuple(reversed(self.ne))
        self.ggml_type = ggml_type
        self.rel_offset = rel_offset
        self.offset = None      # set once the data offset is known
        self.n_elements = int(np.prod(self.ne, dtype=object))
        self.n_rows = int(np.prod(self.ne[1:], dtype=object)) if len(self.ne) > 1 else 1
        info = quants.TYPE_INFO.get(ggml_type)
        if info is None:
            self.row_bytes = None
            self.nbytes = None
        else:
            _, block, type_size = info
            self.row_bytes = self.ne[0] // block * type_size
            self.nbytes = self.row_bytes * self.n_rows

    @property
    def type_name(self):
        return quants.type_name(self.ggml_type)

    def raw(self):
        """All bytes of the tensor, a uint8 view into the mapped file (nothing is copied)."""
        return self.raw_rows(0, self.n_rows)

    def raw_rows(self, start, stop):
        """Bytes of rows [start, stop) (rows of ne[0] elements), a uint8 view into the file."""
        if self.nbytes is None:
            raise GGUFError(f"tensor {self.name}: type {self.type_name} is not supported")
        if not (0 <= start <= stop <= self.n_rows):
            raise IndexError(f"tensor {self.name}: rows [{start}, {stop}) outside 0..{self.n_rows}")
        a = self.offset + start * self.row_bytes
        b = self.offset + stop * self.row_bytes
        return self._gguf.data[a:b]

    def __repr__(self):
        return f"TensorInfo({self.name!r}, ne={self.ne}, type={self.type_name})"


class GGUFFile:
    """A parsed GGUF v3 file.

    metadata:       dict key -> value (int, float, bool, str, or list for arrays; nested arrays
                    are nested lists).
    metadata_types: dict key -> value type id (arrays: (T_ARRAY, element type id)).
    tensors:        dict name -> TensorInfo, in file order.
    alignment:      general.alignment (default 32).
    data_offset:    absolute offset of the tensor data section.
    data:           numpy.memmap (uint8) of the whole file.
    """

    def __init__(self, path):
        self.path = str(path)
        size = os.path.getsize(self.path)
        if size == 0:
            raise GGUFError(f"{self.path}: truncated file: empty (0 bytes), expected a GGUF header")
        self.data = np.memmap(self.path, dtype=np.uint8, mode="r")
        self.file_size = size
        self.metadata = {}
        self.metadata_types = {}
        self.tensors = {}
        self._parse()

    # ---- header -----------------------------------------------------------------------------

    def _parse(self):
        cur = _Cursor(memoryview(self.data), self.path)
        cur.need(4, "magic")
        magic = bytes(cur.buf[0:4])
        cur.pos = 4
        if magic != GGUF_MAGIC:
            raise GGUFError(f"{self.path}: bad magic: expected {GGUF_MAGIC!r}, got {magic!r}; "
                            "not a GGUF file")
        version = cur.u32("version")
        if version != GGUF_VERSION:
            if version & 0xFFFF == 0 and (version >> 16) != 0:
                raise GGUFError(f"{self.path}: big-endian GGUF file (version field reads "
                                f"0x{version:08x} little-endian); only little-endian files "
                                "are supported")
            raise GGUFError(f"{self.path}: unsupported GGUF version {version}: expected "
                            f"{GGUF_VERSION}")
        n_tensors = cur.u64("tensor count")
        n_kv = cur.u64("metadata count")
        # Each key/value needs at least 8 (key length) + 4 (type) + 1 bytes; each tensor entry
        # at least 8 + 4 + 4 + 8 bytes. Refuse absurd counts before looping.
        left = cur.size - cur.pos
        if n_kv * 13 > left:
            raise GGUFError(f"{self.path}: truncated file: metadata count {n_kv} cannot fit in "
                            f"the {left} bytes left")
        for i in range(n_kv):
            key = cur.string(f"metadata key #{i}")
            vtype = cur.u32(f"type of metadata '{key}'")
            value, tinfo = self._read_value(cur, vtype, f"metadata '{key}'", depth=0)
            if key in self.metadata:
                raise GGUFError(f"{self.path}: duplicate metadata key '{key}'")
            self.metadata[key] = value
            self.metadata_types[key] = tinfo

        self.alignment = DEFAULT_ALIGNMENT
        if "general.alignment" in self.metadata:
            if self.metadata_types["general.alignment"] != T_UINT32:
                raise GGUFError(f"{self.path}: general.alignment: expected type u32, got "
                                f"{self.metadata_types['general.alignment']}")
            a = self.metadata["general.alignment"]
            if a == 0 or (a & (a - 1)) != 0:
                raise GGUFError(f"{self.path}: general.alignment: expected a power of two, "
                                f"got {a}")
            self.alignment = a

        left = cur.size - cur.pos
        if n_tensors * 24 > left:
            raise GGUFError(f"{self.path}: truncated file: tensor count {n_tensors} cannot fit "
                            f"in the {left} bytes left")
        infos = []
        for i in range(n_tensors):
            name = cur.string(f"name of tensor #{i}")
            n_dims = cur.u32(f"n_dims of tensor '{name}'")
            if not 1 <= n_dims <= MAX_DIMS:
                raise GGUFError(f"{self.path}: tensor '{name}': n_dims expected 1..{MAX_DIMS}, "
                                f"got {n_dims}")
            ne = [cur.u64(f"ne[{d}] of tensor '{name}'") for d in range(n_dims)]
            for d, n in enumerate(ne):
                if n >= 2 ** 63:
                    raise GGUFError(f"{self.path}: tensor '{name}': ne[{d}] = {n} is negative "
                                    "as int64")
            ggml_type = cur.u32(f"type of tensor '{name}'")
            rel = cur.u64(f"offset of tensor '{name}'")
            if name in self.tensors:
                raise GGUFError(f"{self.path}: duplicate tensor name '{name}'")
            t = TensorInfo(self, name, ne, ggml_type, rel)
            self.tensors[name] = t
            infos.append(t)

        self.data_offset = (cur.pos + self.alignment - 1) // self.alignment * self.alignment
        for t in infos:
            self._check_tensor(t)

    def _check_tensor(self, t):
        if t.rel_offset % self.alignment != 0:
            raise GGUFError(f"{self.path}: tensor '{t.name}': offset {t.rel_offset} is not a "
                            f"multiple of the alignment {self.alignment}")
        t.offset = self.data_offset + t.rel_offset
        info = quants.TYPE_INFO.get(t.ggml_type)
        if info is None:
            return  # unknown type: listed, but its bytes cannot be used or checked
        block = info[1]
        if t.ne[0] % block != 0:
            raise GGUFError(f"{self.path}: tensor '{t.name}': ne[0] = {t.ne[0]} is not a "
                            f"multiple of the {info[0]} block size {block}")
        end = t.offset + t.nbytes
        if end > self.file_size:
            raise GGUFError(f"{self.path}: truncated file: tensor '{t.name}' needs bytes "
                            f"[{t.offset}, {end}), file has {self.file_size}")

    def _read_value(self, cur, vtype, what, depth):
        """Reads one metadata value of type vtype; returns (value, type description)."""
        if vtype in _SCALAR_DTYPES:
            dt = _SCALAR_DTYPES[vtype]
            v = cur.array_of(dt, 1, what)[0]
            if vtype == T_BOOL:
                return bool(v), vtype
            return v.item(), vtype
        if vtype == T_STRING:
            return cur.string(what), vtype
        if vtype == T_ARRAY:
            if depth > 8:
                raise GGUFError(f"{self.path}: {what}: arrays nested too deeply")
            etype = cur.u32(what + " (array element type)")
            count = cur.u64(what + " (array length)")
            if etype in _SCALAR_DTYPES:
                arr = cur.array_of(_SCALAR_DTYPES[etype], count, what)
                vals = [bool(x) for x in arr] if etype == T_BOOL else arr.tolist()
                return vals, (T_ARRAY, etype)
            if etype == T_STRING:
                cur.need(count * 8, what + f" ({count} strings)")
                return [cur.string(f"{what}[{i}]") for i in range(count)], (T_ARRAY, etype)
            if etype == T_ARRAY:
                cur.need(count * 12, what + f" ({count} arrays)")
                vals, types = [], None
                for i in range(count):
                    v, types = self._read_value(cur, T_ARRAY, f"{what}[{i}]", depth + 1)
                    vals.append(v)
                return vals, (T_ARRAY, types if types is not None else T_ARRAY)
            raise GGUFError(f"{self.path}: {what}: unknown array element type {etype}")
        raise GGUFError(f"{self.path}: {what}: unknown value type {vtype} at offset {cur.pos - 4}")

    # ---- convenience ------------------------------------------------------------------------

    def get(self, key, default=None):
        return self.metadata.get(key, default)

    def tensor(self, name):
        t = self.tensors.get(name)
        if t is None:
            raise GGUFError(f"{self.path}: tensor '{name}' not found")
        return t


def main(argv=None):
    """Prints the metadata (arrays abbreviated) and the tensor directory of a GGUF file."""
    import argparse
    import sys
    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("model")
    args = ap.parse_args(argv)
    try:
        g = GGUFFile(args.model)
    except GGUFError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"GGUF v3, alignment {g.alignment}, data at {g.data_offset}, {len(g.metadata)} keys, "
          f"{len(g.tensors)} tensors")
    for k, v in g.metadata.items():
        if isinstance(v, list):
            shown = repr(v[:8])[:-1] + (", ...]" if len(v) > 8 else "]")
            v = f"[{len(v)} items] {shown}"
        print(f"  {k} = {v}")
    for t in g.tensors.values():
        print(f"  {t.name:40s} {t.type_name:6s} ne={list(t.ne)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
