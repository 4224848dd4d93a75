#!/usr/bin/env bash
# Issue 4: kernel microbenchmarks (Google Benchmark, benchmarks/kernel_bench.cc) per weight type and
# instruction set, one thread, with GB/s of weight bytes read. "hot": the matrix stays in cache
# between iterations; "cold": a fresh copy from a pool larger than the last-level cache each time
# (what decoding sees). Writes benchmarks/results/kernels.md (and the raw JSON beside it).
#   FILTER='gemv/q4_0' bash benchmarks/kernels.sh
source "$(dirname "$0")/common.sh"
FILTER="${FILTER:-.}"
MIN_TIME="${MIN_TIME:-0.2}"
json="$RESULTS/kernels.json"
out="$RESULTS/kernels.md"
if [[ "${REUSE_JSON:-0}" != "1" ]]; then  # REUSE_JSON=1: only redo the tables
  quiet_begin
  "$BUILD/benchmarks/kernel_bench" --benchmark_filter="$FILTER" --benchmark_min_time="$MIN_TIME" \
    --benchmark_format=json --benchmark_out="$json" --benchmark_out_format=json > /dev/null
  quiet_end
fi
{
  echo "# Kernel microbenchmarks (1 thread; GB/s of weight bytes, or tokens/s for batched kernels; each at least ${MIN_TIME} s)"
  echo
  machine_line | sed -n 1p
  echo
  /usr/bin/python3 - "$json" <<'PY'
import json, sys
from collections import defaultdict
runs = json.load(open(sys.argv[1]))["benchmarks"]
# name = kernel/type/isa/shape[/variant]; one table per kernel and shape, a column per ISA.
# quantize rows are activations quantized per second (GB/s of f32 input).
table = defaultdict(dict)
isas = []
for r in runs:
    if r.get("run_type") == "aggregate":
        continue
    parts = r["name"].split("/")
    if len(parts) < 4:
        continue
    kernel, wtype, isa = parts[0], parts[1], parts[2]
    rest = "/".join(parts[3:])
    if isa not in isas:
        isas.append(isa)
    table[(kernel, rest)][(wtype, isa)] = (r.get("bytes_per_second", 0) / 1e9, r.get("tokens/s"))
for (kernel, rest), cells in table.items():
    types = sorted({t for t, _ in cells})
    # batched kernels (gemm, axpy_multi) reuse each weight row for many tokens: tokens/s says more
    per_token = any(v[1] is not None for v in cells.values())
    unit = "thousand tokens/s" if per_token else "GB/s"
    cells = {k: (v[1] / 1e3 if per_token else v[0]) for k, v in cells.items()}
    print(f"## {kernel} {rest} ({unit})\n")
    print("| type | " + " | ".join(isas) + " |")
    print("|---|" + "---|" * len(isas))
    for t in types:
        row = [f"{cells[(t, i)]:.1f}" if (t, i) in cells else "-" for i in isas]
        print(f"| {t} | " + " | ".join(row) + " |")
    print()
PY
} > "$out"
cat "$out"
