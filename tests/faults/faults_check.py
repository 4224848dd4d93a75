#!/usr/bin/env python3
"""Faults under load (issue 7): the engine reports, cleans up and exits; nothing crashes or hangs.

  faults_check.py --bin BUILD_DIR --work DIR

Cases:
  model_deleted_while_running   the model file is unlinked mid-generation: the mapping keeps the
                                data alive, generation finishes normally (exit 0)
  model_truncated_while_mapped  the model file shrinks mid-generation: one "error: ... truncated"
                                line and exit code 4 (not SIGBUS)
  experts_truncated_while_streaming
                                offloaded experts stream from an expert file that shrinks: one
                                error line naming the file, exit code 4, no hang
  sigint_during_generation      SIGINT mid-answer (one-shot): the partial output and the timings
                                are printed, exit code 130
  full_disk_stdout / full_disk_batch / full_disk_dump / full_disk_json
                                results written to /dev/full: one error line, exit code 4
"""
import argparse
import os
import signal
import subprocess
import sys
import time

FAILURES = []


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print(f"FAIL: {what}", file=sys.stderr)
    else:
        print(f"ok: {what}")


def start(cmd):
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for_output(p, min_bytes=20, timeout=20):
    """Reads stdout until at least min_bytes arrived (generation is under way)."""
    got = b""
    deadline = time.time() + timeout
    os.set_blocking(p.stdout.fileno(), False)
    while len(got) < min_bytes and time.time() < deadline:
        try:
            chunk = p.stdout.read(4096)
        except BlockingIOError:
            chunk = None
        if chunk:
            got += chunk
        elif p.poll() is not None:
            break
        else:
            time.sleep(0.01)
    return got


def finish(p, timeout=60):
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        return -999, out, err
    return p.returncode, out, err


def error_lines(err):
    return [l for l in err.decode(errors="replace").splitlines() if l.startswith("error:")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    cli = os.path.join(args.bin, "smallthinker-cli")
    gen = os.path.join(args.bin, "smallthinker-gen")
    base = os.path.join(args.work, "tiny.gguf")
    subprocess.run([gen, "--preset", "tiny", "--type", "q4_0", "--untied", "--hot-expert-rate", "0.45", "-o", base],
                   check=True, capture_output=True)
    long_run = ["-p", "once upon a time", "-n", "-1", "--ignore-eos", "-c", "60000", "-t", "1", "--temp", "0.8",
                "-s", "7", "--no-display-prompt"]

    def fresh_copy(name):
        path = os.path.join(args.work, name)
        with open(base, "rb") as src, open(path, "wb") as dst:
            dst.write(src.read())
        return path

    # 1. Deleted while running: the open mapping keeps the file's data.
    m = fresh_copy("deleted.gguf")
    p = start([cli, "-m", m, "-p", "once upon a time", "-n", "400", "--ignore-eos", "-t", "1", "-s", "3"])
    wait_for_output(p)
    os.unlink(m)
    rc, out, err = finish(p)
    check(rc == 0, f"model_deleted_while_running: exit 0 (got {rc})")

    # 2. Truncated while mapped: SIGBUS becomes one error line and exit 4.
    m = fresh_copy("truncated.gguf")
    p = start([cli, "-m", m] + long_run)
    wait_for_output(p)
    os.truncate(m, 4096)
    rc, out, err = finish(p)
    errs = error_lines(err)
    check(rc == 4, f"model_truncated_while_mapped: exit 4 (got {rc})")
    check(len(errs) == 1 and "was truncated or replaced while in use" in errs[0],
          f"model_truncated_while_mapped: one clear error line (got {errs})")

    # 3. Offloaded experts stream from an expert file that shrinks.
    m = fresh_copy("offload.gguf")
    ef = os.path.join(args.work, "offload.experts")
    if os.path.exists(ef):
        os.unlink(ef)
    p = start([cli, "-m", m, "--expert-cache", "5", "--expert-file", ef] + long_run)
    wait_for_output(p)
    os.truncate(ef, 8192)
    rc, out, err = finish(p)
    errs = error_lines(err)
    check(rc == 4, f"experts_truncated_while_streaming: exit 4 (got {rc})")
    check(len(errs) == 1 and "offload.experts" in errs[0] and "short read" in errs[0],
          f"experts_truncated_while_streaming: one error line naming the file (got {errs})")

    # 4. SIGINT during a one-shot answer.
    p = start([cli, "-m", base] + long_run)
    got = wait_for_output(p)
    p.send_signal(signal.SIGINT)
    rc, out, err = finish(p)
    check(rc == 130, f"sigint_during_generation: exit 130 (got {rc})")
    check(len(got + out) > 0 and b"eval time" in err, "sigint_during_generation: partial output and timings")

    # 5. A full disk when writing results.
    for name, extra, redirect in [
        ("full_disk_stdout", ["-p", "hello", "-n", "8"], True),
        ("full_disk_batch", ["--batch-file", os.path.join(args.work, "batch.txt"), "--batch-output", "/dev/full",
                             "-n", "4"], False),
        ("full_disk_dump", ["--token-ids", "1,2,3", "-n", "2", "--dump-logits", "/dev/full"], False),
        ("full_disk_json", ["-p", "hello", "-n", "4", "--json", "/dev/full"], False),
    ]:
        with open(os.path.join(args.work, "batch.txt"), "w") as f:
            f.write("first prompt\nsecond prompt\n")
        stdout = open("/dev/full", "wb") if redirect else subprocess.DEVNULL
        r = subprocess.run([cli, "-m", base, "-t", "1"] + extra, stdout=stdout, stderr=subprocess.PIPE, timeout=60)
        errs = error_lines(r.stderr)
        check(r.returncode == 4, f"{name}: exit 4 (got {r.returncode})")
        check(len(errs) == 1, f"{name}: one error line (got {errs})")

    if FAILURES:
        print(f"{len(FAILURES)} fault checks failed", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
