#!/usr/bin/env python3
"""A bounded load generator for OpenAI-compatible servers (smallthinker-server, llama-server).

C clients each send R streamed /v1/completions requests one after another (loopback only) and the
run prints one JSON line: wall time, aggregate generated tokens/s, time to first token and
per-request latency (p50/p99), failures.

    server_load.py --url http://127.0.0.1:8080 --clients 8 --requests 4 --max-tokens 64 --prompts FILE
"""
import argparse
import http.client
import json
import statistics
import sys
import threading
import time
from urllib.parse import urlparse


def percentile(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    k = (len(xs) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def one_request(host, port, body, timeout):
    """Returns (ttft_s, latency_s, completion_tokens) or raises."""
    t0 = time.perf_counter()
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    conn.request("POST", "/v1/completions", body=json.dumps(body), headers={"Content-Type": "application/json"})
    res = conn.getresponse()
    if res.status != 200:
        raise RuntimeError(f"HTTP {res.status}: {res.read()[:200]!r}")
    ttft = None
    tokens = None
    events = 0
    buf = b""
    done = False
    while not done:
        chunk = res.read1(65536) if hasattr(res, "read1") else res.read(4096)
        if not chunk:
            break
        buf += chunk
        while b"\n\n" in buf:
            event, buf = buf.split(b"\n\n", 1)
            for line in event.split(b"\n"):
                if not line.startswith(b"data: "):
                    continue
                data = line[6:]
                if data == b"[DONE]":
                    done = True
                    break
                j = json.loads(data)
                if "error" in j:
                    raise RuntimeError(j["error"].get("message"))
                if j.get("usage"):
                    tokens = j["usage"].get("completion_tokens", tokens)
                if j.get("timings") and tokens is None:
                    tokens = j["timings"].get("predicted_n")
                for c in j.get("choices", []):
                    if c.get("text"):
                        events += 1
                        if ttft is None:
                            ttft = time.perf_counter() - t0
    conn.close()
    if not done:
        raise RuntimeError("the stream ended without [DONE]")
    return ttft, time.perf_counter() - t0, tokens if tokens is not None else events


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--clients", type=int, required=True)
    ap.add_argument("--requests", type=int, default=4, help="requests per client")
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--prompts", required=True, help="a text file, one prompt per line")
    ap.add_argument("--timeout", type=float, default=600)
    a = ap.parse_args()
    u = urlparse(a.url)
    prompts = [l.strip() for l in open(a.prompts, encoding="utf-8") if l.strip()]
    results, failures, lock = [], [], threading.Lock()

    def client(ci):
        for r in range(a.requests):
            k = ci * a.requests + r
            body = {"prompt": prompts[k % len(prompts)], "max_tokens": a.max_tokens, "stream": True,
                    "stream_options": {"include_usage": True}, "ignore_eos": True, "temperature": 0.8,
                    "top_k": 40, "top_p": 0.95, "min_p": 0.05, "seed": k + 1}
            try:
                res = one_request(u.hostname, u.port, body, a.timeout)
                with lock:
                    results.append(res)
            except Exception as e:  # noqa: BLE001 - every failure is counted and printed
                with lock:
                    failures.append(str(e))

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(a.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    ttft = [r[0] for r in results if r[0] is not None]
    lat = [r[1] for r in results]
    tokens = sum(r[2] for r in results)
    out = {"clients": a.clients, "requests": len(results), "failed": len(failures), "wall_s": wall,
           "tokens": tokens, "tokens_per_s": tokens / wall if wall > 0 else 0,
           "ttft_p50_ms": 1000 * percentile(ttft, 50) if ttft else None,
           "ttft_p99_ms": 1000 * percentile(ttft, 99) if ttft else None,
           "latency_p50_ms": 1000 * percentile(lat, 50) if lat else None,
           "latency_p99_ms": 1000 * percentile(lat, 99) if lat else None,
           "per_request_tokens_per_s": statistics.median([r[2] / r[1] for r in results]) if results else None,
           "errors": failures[:3]}
    print(json.dumps(out))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
