#!/usr/bin/env python3
"""End-to-end checks of issue 12 (hardening, round 2) across the programs: no lost result files,
no crashes on bad values, failed writes reported, escaped file strings, llama.cpp's flags.

    python3 tests/cli/hardening_check.py --bin BUILD_DIR --work SCRATCH_DIR [unittest args, e.g. OutputFilesTest]

Each test class generates its own tiny synthetic model with smallthinker-gen (as cli_check.py
does). Every case asserts the exit code and the one "error:" line. Registered with CTest by
tests/cli.cmake (label "cli").
"""
import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import unittest

BIN = None
WORK = None
CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "data", "corpus")

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_MODEL, EXIT_IO = 0, 1, 2, 3, 4
ESC = b"\x1b"


def current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def tool(name):
    return os.path.join(BIN, name)


def make_model(name, *extra):
    os.makedirs(WORK, exist_ok=True)
    path = os.path.join(WORK, name)
    subprocess.run([tool("smallthinker-gen"), "--preset", "tiny", "--type", "q8_0", "--untied", "-t", "1", "-o", path,
                    *extra], check=True, capture_output=True)
    return path


def replace_string_value(path, out, key, new):
    """Writes a copy of the GGUF at `path` whose string `key` holds `new` (same byte length, so no
    offset moves): the untrusted strings an attacker controls."""
    with open(path, "rb") as f:
        data = f.read()
    k = key.encode()
    at = data.index(struct.pack("<Q", len(k)) + k + struct.pack("<I", 8))  # type 8: string
    at += 8 + len(k) + 4
    n = struct.unpack_from("<Q", data, at)[0]
    assert n == len(new), (n, len(new))
    data = data[:at + 8] + new + data[at + 8 + n:]
    with open(out, "wb") as f:
        f.write(data)
    return out


class Case(unittest.TestCase):
    model = None

    @classmethod
    def setUpClass(cls):
        cls.model = make_model(cls.__name__ + ".gguf")
        cls.dir = os.path.join(WORK, cls.__name__)
        shutil.rmtree(cls.dir, ignore_errors=True)  # a rerun starts clean
        os.makedirs(cls.dir)

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, name, data):
        p = self.path(name)
        with open(p, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
        return p

    def run_tool(self, name, *args, stdout=subprocess.PIPE, timeout=120):
        r = subprocess.run([tool(name), *args], stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.PIPE,
                           timeout=timeout)
        r.err = r.stderr.decode("utf-8", "replace")
        return r

    def cli(self, *args, **kw):
        return self.run_tool("smallthinker-cli", "-m", self.model, "-t", "1", *args, **kw)

    def assert_one_error(self, r, code, *words):
        errors = [line for line in r.err.splitlines() if line.startswith("error:")]
        self.assertEqual(r.returncode, code, r.err)
        self.assertEqual(len(errors), 1, r.err)
        for w in words:
            self.assertIn(w, errors[0])
        return errors[0]

    def assert_untouched(self, path, data):
        with open(path, "rb") as f:
            self.assertEqual(f.read(), data)

    def assert_no_temporaries(self):
        self.assertEqual([n for n in os.listdir(self.dir) if ".tmp." in n], [])


class OutputFilesTest(Case):
    """--json and --batch-output replace their targets only at a successful end."""

    EARLIER = b'{"earlier": "results"}\n'

    def test_failed_run_keeps_earlier_json(self):
        for args, code, word in [(["-m", os.path.join(WORK, "missing.gguf")], EXIT_MODEL, "missing.gguf"),
                                 (["--memory-limit", "1K"], EXIT_USAGE, "--memory-limit"),
                                 (["-f", os.path.join(WORK, "missing.txt")], EXIT_IO, "missing.txt")]:
            with self.subTest(args=args):
                out = self.write("earlier.json", self.EARLIER)
                prompt = [] if "-f" in args else ["-p", "hi"]
                argv = ["-t", "1", *args] if "-m" in args else ["-m", self.model, "-t", "1", *args]
                r = self.run_tool("smallthinker-cli", *argv, *prompt, "-n", "2", "--json", out)
                self.assert_one_error(r, code, word)
                self.assert_untouched(out, self.EARLIER)
                self.assert_no_temporaries()

    def test_failed_batch_keeps_earlier_results(self):
        out = self.write("earlier.jsonl", self.EARLIER)
        batch = self.write("batch.jsonl", '{"id": 1, "prompt": "hi"}\n')
        r = self.cli("--batch-file", batch, "--batch-output", out, "--memory-limit", "1K")
        self.assert_one_error(r, EXIT_USAGE, "--memory-limit")
        self.assert_untouched(out, self.EARLIER)
        self.assert_no_temporaries()

    def test_successful_runs_replace_the_targets(self):
        out = self.write("ok.jsonl", self.EARLIER)
        js = self.write("ok.json", self.EARLIER)
        batch = self.write("two.jsonl", '{"id": "a", "prompt": "hi"}\n{"id": "b", "prompt": "ho"}\n')
        r = self.cli("--batch-file", batch, "--batch-output", out, "--json", js, "-n", "2")
        self.assertEqual(r.returncode, EXIT_OK, r.err)
        with open(out) as f:
            self.assertEqual([json.loads(line)["id"] for line in f], ["a", "b"])
        with open(js) as f:
            self.assertEqual(json.load(f)["batch"]["ok"], 2)
        self.assert_no_temporaries()

    def test_output_equal_to_an_input_is_refused(self):
        batch = self.write("in.jsonl", '{"id": 1, "prompt": "hi"}\n')
        model_copy = self.path("model-copy.gguf")
        shutil.copy(self.model, model_copy)
        with open(model_copy, "rb") as f:
            model_bytes = f.read()
        prompt = self.write("prompt.txt", "hello")
        os.link(batch, self.path("in-link.jsonl"))
        cases = [
            (["--batch-file", batch, "--batch-output", batch], batch, "--batch-output", "--batch-file"),
            (["--batch-file", batch, "--batch-output", self.path("in-link.jsonl")], batch, "--batch-output", "--batch-file"),
            (["-p", "hi", "--json", model_copy], model_copy, "--json", "-m"),
            (["-f", prompt, "--json", prompt], prompt, "--json", "-f"),
            (["--token-ids", "1,2", "--dump-logits", model_copy], model_copy, "--dump-logits", "-m"),
        ]
        for args, victim, out_flag, in_flag in cases:
            with self.subTest(args=args):
                with open(victim, "rb") as f:
                    before = f.read()
                r = self.run_tool("smallthinker-cli", "-m", model_copy, "-t", "1", *args)
                line = self.assert_one_error(r, EXIT_USAGE, out_flag, "is the same file as " + in_flag)
                self.assertIn("destroy", line)
                self.assert_untouched(victim, before)
        self.assert_untouched(model_copy, model_bytes)

    def test_json_to_a_full_device(self):
        r = self.cli("-p", "hi", "-n", "2", "--json", "/dev/full")
        self.assert_one_error(r, EXIT_IO, "--json /dev/full", "No space left on device")


class BomTest(Case):
    """A UTF-8 byte-order mark at the start of a text file is not part of its text."""

    BOM = b"\xef\xbb\xbf"

    def test_batch_file_with_bom(self):
        batch = self.write("bom.jsonl", self.BOM + b'{"id": "first", "prompt": "hi"}\n{"id": "second", "prompt": "ho"}\n')
        r = self.cli("--batch-file", batch, "-n", "2")
        self.assertEqual(r.returncode, EXIT_OK, r.err)
        out = [json.loads(line) for line in r.stdout.decode().splitlines()]
        self.assertEqual([o["id"] for o in out], ["first", "second"])
        self.assertEqual(out[0]["prompt_tokens"], out[1]["prompt_tokens"])  # the BOM is not a token

    def prompt_ids(self, *args):
        r = self.cli(*args, "--verbose-prompt", "-n", "0")
        self.assertEqual(r.returncode, EXIT_OK, r.err)
        return [line for line in r.err.splitlines() if line.startswith("prompt:")]

    def test_chat_from_stdin_with_bom(self):
        def evaluated(data):
            r = subprocess.run([tool("smallthinker-cli"), "-m", self.model, "-t", "1", "-cnv", "-v", "-n", "2"],
                               input=data, capture_output=True, timeout=120)
            err = r.stderr.decode("utf-8", "replace")
            self.assertEqual(r.returncode, EXIT_OK, err)
            return [line.split("evaluating")[1] for line in err.splitlines() if "chat: turn 1:" in line
                    and "evaluating" in line]
        plain = evaluated(b"hello there\n")
        self.assertEqual(len(plain), 1)
        self.assertEqual(evaluated(self.BOM + b"hello there\n"), plain)

    def test_prompt_files_with_bom(self):
        plain = self.write("plain.txt", b"hello there")
        bom = self.write("bom.txt", self.BOM + b"hello there")
        self.assertEqual(self.prompt_ids("-f", bom), self.prompt_ids("-f", plain))
        self.assertEqual(self.prompt_ids("-sysf", bom, "-p", "x"), self.prompt_ids("-sys", "hello there", "-p", "x"))
        self.assert_one_error(self.cli("-f", self.write("only.txt", self.BOM)), EXIT_USAGE, "empty prompt")
        tok = [self.run_tool("smallthinker-tokenize", "-m", self.model, "-f", p).stdout for p in (plain, bom)]
        self.assertEqual(tok[0], tok[1])


class BenchArgsTest(Case):
    """smallthinker-bench: every bad value is exit code 2 with one line, never an abort."""

    def bench(self, *args):
        return self.run_tool("smallthinker-bench", "-m", self.model, "-t", "1", "-r", "1", "--bandwidth-mib", "0", *args)

    def test_bad_lists(self):
        cases = [
            (["-p", "abc"], "--n-prompt: 'abc' is not an integer"),
            (["-n", "abc"], "--n-gen: 'abc' is not an integer"),
            (["-p", "8,x"], "--n-prompt: 'x' is not an integer"),
            (["--threads-list", "a"], "--threads-list: 'a' is not an integer"),
            (["--threads-list", ","], "--threads-list: give at least one value"),
            (["-p", "4294967297"], "--n-prompt: 4294967297 is outside 0..16777216"),
            (["-d", "-5"], "--n-depth: -5 is outside"),
            (["--n-parallel", "0"], "--n-parallel: 0 is outside 1..256"),
        ]
        for args, words in cases:
            with self.subTest(args=args):
                self.assert_one_error(self.bench(*args), EXIT_USAGE, words)

    def test_bandwidth_buffer_too_large(self):
        r = self.run_tool("smallthinker-bench", "-m", self.model, "-t", "1", "-r", "1", "-p", "0", "-n", "1",
                          "--bandwidth-mib", "1073741824")
        self.assert_one_error(r, EXIT_USAGE, "--bandwidth-mib 1073741824", "MemTotal")
        r = self.run_tool("smallthinker-bench", "-m", self.model, "--bandwidth-mib", "2000000000")
        self.assert_one_error(r, EXIT_USAGE, "--bandwidth-mib")

    def test_model_is_checked_before_the_bandwidth(self):
        r = self.run_tool("smallthinker-bench", "-m", os.path.join(WORK, "none.gguf"), "--bandwidth-mib", "1024")
        self.assert_one_error(r, EXIT_MODEL, "none.gguf")
        self.assertNotIn("bandwidth", r.err)


class PerplexityTest(Case):
    def ppl(self, *args, **kw):
        text = self.write("text.txt", "one two three four five six seven eight nine ten " * 40)
        return self.run_tool("smallthinker-perplexity", "-m", self.model, "-t", "1", "-f", text, *args, **kw)

    def test_context_too_short_to_score(self):
        for c in ("1", "2"):
            with self.subTest(c=c):
                self.assert_one_error(self.ppl("-c", c), EXIT_USAGE, f"-c {c}: too short to score")
        r = self.ppl("-c", "3", "--chunks", "1")
        self.assertEqual(r.returncode, EXIT_OK, r.err)
        self.assertIn("tokens scored: 1,", r.stdout.decode())

    def test_kl_base_write_failure(self):
        r = self.ppl("-c", "16", "--chunks", "2", "--kl-divergence-base", "/dev/full")
        self.assert_one_error(r, EXIT_IO, "--kl-divergence-base /dev/full", "No space left on device")

    def test_kl_base_is_replaced_only_on_success(self):
        base = self.write("base.kld", b"earlier base")
        r = self.ppl("-c", "1", "--kl-divergence-base", base)
        self.assertEqual(r.returncode, EXIT_USAGE, r.err)
        self.assert_untouched(base, b"earlier base")
        r = self.ppl("-c", "16", "--chunks", "1", "--kl-divergence-base", base)
        self.assertEqual(r.returncode, EXIT_OK, r.err)
        with open(base, "rb") as f:
            self.assertEqual(f.read(8), b"STKLD001")
        self.assert_one_error(self.ppl("-c", "16", "--kl-divergence-base", self.model), EXIT_USAGE, "same file as -m")


class StdoutErrorsTest(Case):
    """A full disk or a closed pipe on stdout is exit code 4 with one error line, in every program."""

    def commands(self):
        text = self.write("text.txt", "one two three four five six seven eight " * 20)
        return {
            "cli": ["smallthinker-cli", "-m", self.model, "-t", "1", "-p", "hi", "-n", "4"],
            "bench": ["smallthinker-bench", "-m", self.model, "-t", "1", "-r", "1", "-p", "4", "-n", "4",
                      "--bandwidth-mib", "0"],
            "perplexity": ["smallthinker-perplexity", "-m", self.model, "-t", "1", "-f", text, "-c", "16", "--chunks", "1"],
            "tokenize": ["smallthinker-tokenize", "-m", self.model, "-p", "hello"],
            "dump": ["smallthinker-dump", self.model],
        }

    def test_full_disk(self):
        for name, cmd in self.commands().items():
            with self.subTest(program=name):
                with open("/dev/full", "wb") as full:
                    r = self.run_tool(cmd[0], *cmd[1:], stdout=full)
                self.assert_one_error(r, EXIT_IO, "No space left on device")

    def test_closed_pipe_is_exit_4_not_sigpipe(self):
        for name, cmd in self.commands().items():
            with self.subTest(program=name):
                read_end, write_end = os.pipe()
                os.close(read_end)  # as `| head -c0`: every write meets a closed pipe
                try:
                    r = subprocess.run([tool(cmd[0]), *cmd[1:]], stdin=subprocess.DEVNULL, stdout=write_end,
                                       stderr=subprocess.PIPE, timeout=120)
                finally:
                    os.close(write_end)
                r.err = r.stderr.decode("utf-8", "replace")
                self.assert_one_error(r, EXIT_IO, "Broken pipe")


    def closed_pipe(self, args, stdin_data=None):
        """Runs the CLI with stdout on a pipe whose reader has gone, as `| head -c0`."""
        read_end, write_end = os.pipe()
        os.close(read_end)
        try:
            r = subprocess.run([tool("smallthinker-cli"), "-m", self.model, "-t", "1", *args],
                               input=stdin_data, stdin=None if stdin_data is not None else subprocess.DEVNULL,
                               stdout=write_end, stderr=subprocess.PIPE, timeout=120)
        finally:
            os.close(write_end)
        r.err = r.stderr.decode("utf-8", "replace")
        return r

    def test_generation_stops_when_nobody_reads(self):
        # -n 400 with the end of text ignored would run the whole context; the first failed write
        # ends it after one token instead.
        r = self.closed_pipe(["-p", "hi", "-n", "400", "--ignore-eos", "-c", "512"])
        self.assert_one_error(r, EXIT_IO, "Broken pipe")
        self.assertIn("stopped after 1 generated tokens: the output cannot be written", r.err)

    def test_chat_ends_when_nobody_reads(self):
        r = self.closed_pipe(["-cnv", "-n", "4", "--ignore-eos"], stdin_data=b"Hello\nAgain\nThird\n")
        self.assert_one_error(r, EXIT_IO, "Broken pipe")
        self.assertIn("chat: turn 1: the answer cannot be written; ending the chat", r.err)
        self.assertNotIn("turn 2", r.err)


class ModelToolsOutputTest(Case):
    """smallthinker-gen and smallthinker-vocab write their GGUF through a temporary: a failed run
    keeps the earlier file, and an output that is one of the inputs is refused."""

    def gen(self, out, *extra):
        return self.run_tool("smallthinker-gen", "--preset", "tiny", "--type", "q8_0", "-t", "1", "-o", out, *extra)

    def test_output_equal_to_the_vocabulary_source_is_refused(self):
        vocab = self.path("vocab-source.gguf")
        shutil.copy(self.model, vocab)
        with open(vocab, "rb") as f:
            before = f.read()
        r = self.gen(vocab, "--vocab-gguf", vocab)
        self.assert_one_error(r, EXIT_USAGE, "-o", "is the same file as --vocab-gguf")
        self.assert_untouched(vocab, before)
        tok_json = self.write("tokenizer.json", '{"model": {}}')
        r = self.run_tool("smallthinker-vocab", "--tokenizer-json", tok_json, "-o", tok_json)
        self.assert_one_error(r, EXIT_USAGE, "-o", "is the same file as --tokenizer-json")
        self.assert_untouched(tok_json, b'{"model": {}}')

    def test_failed_generation_keeps_the_earlier_file(self):
        out = self.write("earlier.gguf", b"earlier model")
        bad_vocab = self.write("bad-vocab.gguf", b"GGUF\x03\x00\x00\x00 truncated")
        r = self.gen(out, "--vocab-gguf", bad_vocab)
        self.assertNotEqual(r.returncode, EXIT_OK, r.err)
        self.assert_untouched(out, b"earlier model")
        self.assert_no_temporaries()
        r = self.gen("/dev/full")
        self.assert_one_error(r, EXIT_IO, "/dev/full", "No space left on device")
        r = self.gen(out)
        self.assertEqual(r.returncode, EXIT_OK, r.err)
        with open(out, "rb") as f:
            self.assertEqual(f.read(4), b"GGUF")
        self.assertEqual(os.stat(out).st_mode & 0o777, 0o666 & ~current_umask())  # as the file had
        self.assert_no_temporaries()


class MemoryTest(Case):
    def test_context_too_large_for_the_machine(self):
        batch = self.write("one.txt", "hi\n")
        r = self.cli("--batch-file", batch, "-np", "256", "-c", "16777216", "-n", "1")
        line = self.assert_one_error(r, EXIT_USAGE, "KV cache", "-c 16777216", "cannot reserve", "bytes",
                                     "the machine has", "MemTotal")
        self.assertNotIn("Aborted", r.err)
        self.assertTrue(line)

    def test_warning_above_the_training_context(self):
        r = self.cli("-p", "hi", "-n", "1", "-c", "1024")  # the tiny model is trained for 512
        self.assertEqual(r.returncode, EXIT_OK, r.err)
        warnings = [line for line in r.err.splitlines() if "training context" in line]
        self.assertEqual(len(warnings), 1, r.err)
        self.assertIn("-c 1024", warnings[0])
        self.assertIn("512", warnings[0])
        r = self.cli("-p", "hi", "-n", "1", "-c", "512")
        self.assertNotIn("training context", r.err)


class MemoryLimitRssTest(Case):
    """A run's peak RSS stays under --memory-limit: the plan counts the real buffers (scratch
    reserved for the largest batch, the KV cache, the measured process) and gives the expert cache
    only what is left. Three limits on a generated model whose experts do not fit, with uniform
    expert popularity and a long prompt so that the cache fills and evicts (the limit is reached,
    not just respected by a run that never needed it)."""

    LIMITS_MIB = (80, 120, 160)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # 8 layers x 32 experts x 0.8 MiB: 207 MiB of experts, more than every limit.
        cls.big = make_model("rss-big.gguf", "--embd", "512", "--ff", "512", "--experts", "32", "--layers", "8",
                             "--hot-expert-rate", "0")
        with open(os.path.join(CORPUS, "tinystories-subset-Arnoochka.txt"), "rb") as f:
            text = f.read(1400).decode("utf-8", "ignore")
        with open(os.path.join(cls.dir, "prompt.txt"), "w") as f:
            f.write(text)

    def run_limited(self, limit_mib, *args):
        out = self.path(f"run-{limit_mib}.json")
        r = self.run_tool("smallthinker-cli", "-m", self.big, "-t", "2", "-c", "1024", "-n", "96", "--ignore-eos",
                          "--memory-limit", f"{limit_mib}M", "--json", out, *args)
        self.assertEqual(r.returncode, EXIT_OK, r.err)
        with open(out) as f:
            return json.load(f)["memory"]

    def test_peak_rss_stays_under_three_limits(self):
        peaks = []
        for limit in self.LIMITS_MIB:
            with self.subTest(limit_mib=limit):
                m = self.run_limited(limit, "-f", self.path("prompt.txt"))
                self.assertEqual(m["mode"], "offloaded")
                self.assertGreater(m["evictions"], 0, m)  # the cache was full: the limit was reached
                self.assertLessEqual(m["peak_rss_mib"], limit, m)
                # ... and used: what the plan leaves unspent is its margin (24 MiB) and rounding.
                self.assertGreater(m["peak_rss_mib"], limit - 40, m)
                peaks.append(m["peak_rss_mib"])
        self.assertEqual(peaks, sorted(peaks))

    def test_parallel_sequences_stay_under_the_limit(self):
        batch = self.path("batch.txt")
        with open(self.path("prompt.txt")) as f:
            text = f.read()
        with open(batch, "w") as f:
            for i in range(4):
                f.write(json.dumps({"id": i, "prompt": text[i * 200:i * 200 + 700]}) + "\n")
        m = self.run_limited(120, "--batch-file", batch, "-np", "3", "--batch-output", self.path("out.jsonl"))
        self.assertGreater(m["evictions"], 0, m)
        self.assertLessEqual(m["peak_rss_mib"], 120, m)


class EscapeTest(Case):
    """Strings from the model file reach the terminal escaped."""

    EVIL_NAME = b"\x1b]0;owned\x07\x1b[2J"   # 14 bytes, as "synthetic-tiny"
    EVIL_ARCH = b"smal\x00\x1b[31mxx"         # 12 bytes, as "smallthinker"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.evil_name = replace_string_value(cls.model, cls.model + ".name.gguf", "general.name", cls.EVIL_NAME)
        cls.evil_arch = replace_string_value(cls.model, cls.model + ".arch.gguf", "general.architecture", cls.EVIL_ARCH)

    def assert_escaped(self, data):
        self.assertNotIn(ESC, data)
        self.assertNotIn(b"\x07", data)
        self.assertIn(b"\\x1b", data)

    def test_verbose_dump_and_bench_escape_the_name(self):
        r = self.run_tool("smallthinker-cli", "-m", self.evil_name, "-t", "1", "-v", "-p", "hi", "-n", "1")
        self.assertEqual(r.returncode, EXIT_OK, r.err)
        self.assert_escaped(r.stderr)
        self.assertIn("(\\x1b]0;owned\\x07\\x1b[2J)", r.err)
        r = self.run_tool("smallthinker-dump", self.evil_name)
        self.assertEqual(r.returncode, EXIT_OK, r.err)
        self.assert_escaped(r.stdout)
        r = self.run_tool("smallthinker-bench", "-m", self.evil_name, "-t", "1", "-r", "1", "-p", "0", "-n", "2",
                          "--bandwidth-mib", "0")
        self.assertEqual(r.returncode, EXIT_OK, r.err)
        self.assert_escaped(r.stdout)
        r = self.run_tool("smallthinker-bench", "-m", self.evil_name, "-t", "1", "-r", "1", "-p", "0", "-n", "2",
                          "--bandwidth-mib", "0", "-o", "json")
        self.assertEqual(r.returncode, EXIT_OK, r.err)
        self.assertEqual(json.loads(r.stdout)["model_name"], "\\x1b]0;owned\\x07\\x1b[2J")

    def test_error_shows_bytes_after_a_nul(self):
        for cmd in (["smallthinker-cli", "-m", self.evil_arch, "-p", "hi"], ["smallthinker-dump", self.evil_arch]):
            with self.subTest(cmd=cmd[0]):
                r = self.run_tool(cmd[0], *cmd[1:])
                self.assertNotIn(ESC, r.stderr)
                self.assertNotIn(b"\x00", r.stderr)
                if cmd[0] == "smallthinker-cli":
                    self.assert_one_error(r, EXIT_MODEL, "smal\\x00\\x1b[31mxx", "expected \"smallthinker\"")
                else:
                    self.assertIn(b"smal\\x00\\x1b[31mxx", r.stdout)


class LlamaFlagsTest(Case):
    """llama.cpp's multi-letter one-dash flags are never read as bundled short options."""

    def test_fa_is_not_a_prompt_file(self):
        self.write("a", "this file must not become the prompt")
        r = subprocess.run([tool("smallthinker-cli"), "-m", self.model, "-t", "1", "-fa", "-p", "hi", "-n", "1",
                            "--verbose-prompt"], cwd=self.dir, capture_output=True, timeout=60)
        err = r.stderr.decode()
        self.assertEqual(r.returncode, EXIT_OK, err)
        self.assertIn("note: -fa ignored", err)
        self.assertNotIn("must not", r.stdout.decode())
        r = self.cli("-fa", "on", "-p", "hi", "-n", "1")
        self.assertEqual(r.returncode, EXIT_OK, r.err)
        self.assertIn("note: -fa on ignored", r.err)

    def test_no_op_flags_have_a_note(self):
        for args, note in [(["-ngl", "0"], "-ngl 0 ignored"), (["-ngl", "99"], "-ngl 99 ignored"),
                           (["--n-gpu-layers", "5"], "--n-gpu-layers 5 ignored"), (["-tb", "4"], "-tb 4 ignored"),
                           (["-b", "2048"], "-b 2048 ignored"), (["-mli"], "-mli ignored"),
                           (["--flash-attn", "off"], "--flash-attn off ignored")]:
            with self.subTest(args=args):
                r = self.cli(*args, "-p", "hi", "-n", "1")
                self.assertEqual(r.returncode, EXIT_OK, r.err)
                notes = [line for line in r.err.splitlines() if line.startswith("note:")]
                self.assertEqual(len(notes), 1, r.err)
                self.assertIn(note, notes[0])

    def test_implemented_flags(self):
        sysf = self.write("system.txt", "You are terse.")
        a = self.cli("-sysf", sysf, "-p", "hi", "-n", "0", "--verbose-prompt")
        b = self.cli("-sys", "You are terse.", "-p", "hi", "-n", "0", "--verbose-prompt")
        self.assertEqual(a.returncode, EXIT_OK, a.err)
        self.assertEqual([x for x in a.err.splitlines() if x.startswith("prompt:")],
                         [x for x in b.err.splitlines() if x.startswith("prompt:")])
        self.assert_one_error(self.cli("-sysf", sysf, "-sys", "x", "-p", "hi"), EXIT_USAGE, "conflict")
        r = self.cli("-ctk", "f32", "-ctv", "f32", "-p", "hi", "-n", "1")
        self.assertEqual(r.returncode, EXIT_OK, r.err)
        self.assertIn("f32", r.err)

    def test_unknown_or_inapplicable_flags_are_refused_by_name(self):
        cases = [
            ("smallthinker-cli", ["-m", self.model, "-foo", "-p", "hi"], "unknown option -foo"),
            ("smallthinker-cli", ["-m", self.model, "-fab", "-p", "hi"], "unknown option -fab"),
            ("smallthinker-bench", ["-m", self.model, "-np", "2"], "-np (llama.cpp's --parallel) is not an option of smallthinker-bench"),
            ("smallthinker-bench", ["-m", self.model, "-mli"], "-mli (llama.cpp's --multiline-input) is not an option"),
            ("smallthinker-perplexity", ["-m", self.model, "-sysf", "x"], "-sysf (llama.cpp's --system-prompt-file)"),
            ("smallthinker-tokenize", ["-m", self.model, "-fa", "-p", "hi"], "-fa (llama.cpp's --flash-attn) is not an option of smallthinker-tokenize"),
            ("smallthinker-dump", [self.model, "-ngl", "0"], "-ngl (llama.cpp's --n-gpu-layers) is not an option"),
        ]
        for prog, args, words in cases:
            with self.subTest(prog=prog, args=args):
                self.assert_one_error(self.run_tool(prog, *args), EXIT_USAGE, words)

    def test_values_that_look_like_flags_still_work(self):
        r = self.cli("-p", "hi", "-n", "1", "--temp", "-1", "-l", "5-inf")
        self.assertEqual(r.returncode, EXIT_OK, r.err)
        r = self.cli("-p", "hi", "-n1", "-c64")  # attached values of one-letter options
        self.assertEqual(r.returncode, EXIT_OK, r.err)


def main():
    global BIN, WORK
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", required=True, help="the build directory (the programs, smallthinker-gen)")
    ap.add_argument("--work", required=True, help="a scratch directory")
    args, rest = ap.parse_known_args()
    BIN, WORK = os.path.abspath(args.bin), os.path.abspath(args.work)
    os.makedirs(WORK, exist_ok=True)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
