#!/usr/bin/env python3
"""End-to-end tests of smallthinker-cli: one-shot, chat over a real pseudo-terminal, batch files,
the timing report, --json, and the one-line errors with their exit codes.

    python3 tests/cli/cli_check.py --bin BUILD_DIR --work SCRATCH_DIR [unittest args, e.g. OneShotTest]

Each test class generates its own tiny synthetic model (smallthinker-gen, 0.1 s; untied output so
that sampling has something to choose from; the built-in vocabulary has <|endoftext|> 509,
<|im_start|> 510, <|im_end|> 511 and a ChatML template). The model's words are gibberish: the
tests check behaviour, not text. Registered with CTest by tests/cli.cmake (label "cli").
"""
import argparse
import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
import unittest

BIN = None
WORK = None
SHIPPED_MODEL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "models", "tinystories-st-q8_0.gguf")

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_MODEL, EXIT_IO, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130
TIMING_LINES = [
    r"^\s*load time = +[\d.]+ ms$",
    r"^prompt eval time = +[\d.]+ ms / +\d+ tokens \( *[\d.]+ ms per token, +[\d.]+ tokens per second\)$",
    r"^\s*eval time = +[\d.]+ ms / +\d+ runs +\( *[\d.]+ ms per token, +[\d.]+ tokens per second\)$",
    r"^\s*total time = +[\d.]+ ms / +\d+ tokens$",
    r"^memory: in memory",
]


def cli_path():
    return os.path.join(BIN, "smallthinker-cli")


def make_model(name, *extra):
    os.makedirs(WORK, exist_ok=True)
    path = os.path.join(WORK, name)
    subprocess.run([os.path.join(BIN, "smallthinker-gen"), "--preset", "tiny", "--type", "q8_0", "--untied",
                    "-t", "1", "-o", path, *extra], check=True, capture_output=True)
    return path


class CliCase(unittest.TestCase):
    model = None

    @classmethod
    def setUpClass(cls):
        cls.model = make_model(cls.__name__ + ".gguf")

    def run_cli(self, *args, model=True, stdin=subprocess.DEVNULL, input=None, timeout=60):
        cmd = [cli_path()] + (["-m", self.model, "-t", "1"] if model else []) + list(args)
        r = subprocess.run(cmd, stdin=None if input is not None else stdin, input=input, capture_output=True,
                           timeout=timeout)
        r.err = r.stderr.decode("utf-8", "replace")
        return r

    def summary(self, *args, expect_rc=EXIT_OK, **kw):
        """Runs with --json and returns (result, summary dict)."""
        path = os.path.join(WORK, f"{self.id()}.json")
        r = self.run_cli(*args, "--json", path, **kw)
        self.assertEqual(r.returncode, expect_rc, r.err)
        with open(path) as f:
            return r, json.load(f)

    def prompt_ids(self, *args):
        r = self.run_cli(*args, "--verbose-prompt", "-n", "0")
        self.assertEqual(r.returncode, 0, r.err)
        m = re.search(r"^prompt: \d+ tokens: ([\d,]+)$", r.err, re.M)
        self.assertIsNotNone(m, r.err)
        return [int(t) for t in m.group(1).split(",")]

    def assert_one_error(self, r, code, *words):
        errors = [line for line in r.err.splitlines() if line.startswith("error:")]
        self.assertEqual(len(errors), 1, r.err)
        self.assertEqual(r.returncode, code, r.err)
        for w in words:
            self.assertIn(w, errors[0])
        return errors[0]


EOG_IDS = {509, 511}  # <|endoftext|>, <|im_end|> of the built-in tiny vocabulary
IM_START, IM_END = 510, 511


class OneShotTest(CliCase):
    PROMPT = "Once upon a time"

    def test_greedy_is_deterministic_and_matches_token_ids(self):
        _, a = self.summary("-p", self.PROMPT, "-n", "16", "--temp", "0")
        _, b = self.summary("-p", self.PROMPT, "-n", "16", "--temp", "0")
        self.assertEqual(a["token_ids"], b["token_ids"])
        gen = a["token_ids"]["generated"]
        self.assertGreater(len(gen), 0)
        prompt = a["token_ids"]["prompt"]
        self.assertEqual(prompt, self.prompt_ids("-p", self.PROMPT))
        r = self.run_cli("--token-ids", ",".join(map(str, prompt)), "-n", "16")
        self.assertEqual(r.returncode, 0, r.err)
        ids = [int(t) for t in r.stdout.decode().strip().split(",")]
        self.assertEqual(ids[:len(gen)], gen)  # the one-shot form stops early only at an end of generation
        if len(gen) < 16:
            self.assertEqual(a["stop_reason"], "eog")
            self.assertIn(gen[-1], EOG_IDS)

    def test_output_streams_prompt_then_text(self):
        r, j = self.summary("-p", self.PROMPT, "-n", "8", "-s", "3")
        out = r.stdout.decode("utf-8", "replace")
        self.assertTrue(out.startswith(self.PROMPT), out)
        self.assertEqual(out[len(self.PROMPT):].rstrip("\n"), j["text"].rstrip("\n"))
        r2 = self.run_cli("-p", self.PROMPT, "-n", "8", "-s", "3", "--no-display-prompt")
        self.assertEqual(r2.stdout, r.stdout[len(self.PROMPT.encode()):])

    def test_fixed_seed_reproduces(self):
        args = ["-p", self.PROMPT, "-n", "24", "--temp", "1.0"]
        _, a = self.summary(*args, "-s", "1234")
        _, b = self.summary(*args, "-s", "1234")
        self.assertEqual(a["token_ids"]["generated"], b["token_ids"]["generated"])
        others = [self.summary(*args, "-s", str(s))[1]["token_ids"]["generated"] for s in (1, 2, 3)]
        self.assertTrue(any(o != a["token_ids"]["generated"] for o in others), "seeds make no difference")

    def test_random_seed_is_printed_and_reproduces(self):
        args = ["-p", self.PROMPT, "-n", "16", "--temp", "1.0"]
        r, a = self.summary(*args)
        m = re.search(r"sampler seed: (\d+)", r.err)
        self.assertIsNotNone(m, r.err)
        _, b = self.summary(*args, "-s", m.group(1))
        self.assertEqual(a["token_ids"]["generated"], b["token_ids"]["generated"])

    def test_stops_at_end_of_generation_unless_ignore_eos(self):
        hot = ["-p", "Hello", "--temp", "2", "--top-k", "0", "--top-p", "1", "-c", "512", "--no-display-prompt"]
        for seed in range(1, 30):
            _, j = self.summary(*hot, "-s", str(seed))
            gen = j["token_ids"]["generated"]
            if j["stop_reason"] == "eog" and len(gen) > 1:
                break
        else:
            self.fail("no seed reached an end-of-generation token")
        self.assertIn(gen[-1], EOG_IDS)
        self.assertFalse(EOG_IDS & set(gen[:-1]))
        n = len(gen) + 20
        _, k = self.summary(*hot, "-s", str(seed), "--ignore-eos", "-n", str(n))
        self.assertEqual(k["stop_reason"], "length")
        self.assertEqual(len(k["token_ids"]["generated"]), n)
        self.assertFalse(EOG_IDS & set(k["token_ids"]["generated"]))

    def test_logit_bias_and_special(self):
        r, j = self.summary("-p", "Hi", "-l", f"{IM_END}+100", "--no-display-prompt")
        self.assertEqual(j["token_ids"]["generated"], [IM_END])
        self.assertEqual(j["stop_reason"], "eog")
        self.assertEqual(r.stdout, b"\n")  # control tokens are not printed...
        r = self.run_cli("-p", "Hi", "-l", f"{IM_END}+100", "--no-display-prompt", "-sp")
        self.assertEqual(r.stdout, b"<|im_end|>\n")  # ...unless -sp

    def test_until_context_full(self):
        prompt = self.prompt_ids("-p", self.PROMPT)
        r, j = self.summary("-p", self.PROMPT, "-n", "-1", "-c", "40", "--ignore-eos")
        self.assertEqual(j["stop_reason"], "context")
        self.assertIn("context full", r.err)
        self.assertEqual(len(j["token_ids"]["generated"]), 40 - len(prompt) + 1)
        self.assertEqual(j["tokens"]["context_used"], 40)

    def test_prompt_longer_than_context(self):
        n = len(self.prompt_ids("-p", self.PROMPT))
        r = self.run_cli("-p", self.PROMPT, "-c", str(n - 1))
        self.assert_one_error(r, EXIT_USAGE, f"{n} tokens", f"context of {n - 1}")
        self.assertNotIn("load time", r.err)
        r, _ = self.summary("-p", self.PROMPT, "-c", str(n), "-n", "4")  # exactly full: one token
        self.assertIn("context full", r.err)

    def test_timings_and_memory_report(self):
        r = self.run_cli("-p", self.PROMPT, "-n", "8")
        self.assertEqual(r.returncode, 0, r.err)
        lines = r.err.splitlines()
        for pattern in TIMING_LINES:
            self.assertTrue(any(re.match(pattern, line) for line in lines), f"{pattern} not in:\n{r.err}")

    def test_json_summary_fields(self):
        _, j = self.summary("-p", self.PROMPT, "-n", "8", "-s", "5")
        for key in ("mode", "model", "timings", "tokens", "memory", "settings", "stop_reason", "load_ms",
                    "total_ms", "exit_code", "token_ids", "text"):
            self.assertIn(key, j)
        for key in ("prompt_n", "prompt_ms", "prompt_per_second", "predicted_n", "predicted_ms",
                    "predicted_per_second"):
            self.assertIn(key, j["timings"])
        for key in ("mode", "hit_rate", "mib_read_per_token", "stall_ms_per_token", "prefetch_accuracy",
                    "peak_rss_mib"):
            self.assertIn(key, j["memory"])
        self.assertEqual(j["mode"], "one-shot")
        self.assertEqual(j["timings"]["predicted_n"], 8)
        self.assertEqual(j["settings"]["sampling"]["seed"], 5)
        self.assertAlmostEqual(j["settings"]["sampling"]["temp"], 0.6, places=5)
        r = self.run_cli("-p", self.PROMPT, "-n", "2", "--json", "-")
        self.assertEqual(json.loads(r.err.strip().splitlines()[-1])["mode"], "one-shot")

    def test_system_prompt_uses_the_template(self):
        ids = self.prompt_ids("-sys", "Be brief.", "-p", "Hi")
        self.assertEqual(ids[0], IM_START)
        self.assertEqual(ids.count(IM_START), 3)  # system, user, assistant
        r = self.run_cli("-sys", "Be brief.", "-p", "Hi", "-n", "4")
        self.assertEqual(r.returncode, 0, r.err)
        self.assertNotIn(b"Be brief.", r.stdout)  # the rendered prompt is not echoed

    def test_file_prompt_and_escapes(self):
        path = os.path.join(WORK, "prompt.txt")
        with open(path, "w") as f:
            f.write("line one\nline two")
        self.assertEqual(self.prompt_ids("-f", path), self.prompt_ids("-p", "line one\\nline two"))
        self.assertNotEqual(self.prompt_ids("-f", path),
                            self.prompt_ids("-p", "line one\\nline two", "--no-escape"))
        self.assertEqual(self.prompt_ids("-p", "<|im_start|>")[0], IM_START)  # special text is parsed

    def test_offloaded_experts_same_tokens_and_report(self):
        args = ["-p", self.PROMPT, "-n", "12", "--temp", "0"]
        _, resident = self.summary(*args)
        r, offloaded = self.summary(*args, "--expert-cache", "50%")
        self.assertEqual(offloaded["token_ids"], resident["token_ids"])
        self.assertEqual(resident["memory"]["mode"], "in memory")
        self.assertEqual(offloaded["memory"]["mode"], "offloaded")
        self.assertGreater(offloaded["memory"]["mib_read_per_token"], 0)
        self.assertTrue(0 <= offloaded["memory"]["hit_rate"] <= 1)
        self.assertRegex(r.err, r"memory: offloaded, expert cache hit rate [\d.]+%, [\d.]+ MiB read per token, "
                                r"I/O stall [\d.]+ ms per token")

    def test_token_ids_form_unchanged(self):
        r = self.run_cli("--token-ids", "1,2,3", "-n", "5")
        self.assertEqual(r.returncode, 0, r.err)
        self.assertRegex(r.stdout.decode(), r"^\d+(,\d+){4}\n$")


class PtySession:
    """The CLI on a real pseudo-terminal (its controlling terminal: Ctrl-C becomes SIGINT)."""

    def __init__(self, args, timeout=30):
        self.timeout = timeout
        self.out = b""
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execv(args[0], args)

    def read_some(self, wait):
        r, _, _ = select.select([self.fd], [], [], wait)
        if not r:
            return False
        try:
            data = os.read(self.fd, 65536)
        except OSError:
            return False
        self.out += data
        return bool(data)

    def expect(self, pattern, start=0):
        """Waits until `pattern` (bytes regex) appears in the output after `start`; returns the match."""
        deadline = time.time() + self.timeout
        rx = re.compile(pattern)
        while True:
            m = rx.search(self.out, start)
            if m:
                return m
            if time.time() > deadline or not self.read_some(0.2) and self.exited():
                raise AssertionError(f"{pattern!r} not seen; output:\n{self.out.decode('utf-8', 'replace')}")

    def exited(self):
        if self.pid:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = status
                self.pid = 0
        return self.pid == 0

    def send(self, data):
        os.write(self.fd, data)

    def wait(self):
        deadline = time.time() + self.timeout
        while self.pid and time.time() < deadline:
            self.read_some(0.1)
            self.exited()
        if self.pid:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            raise AssertionError("the CLI did not exit; output:\n" + self.out.decode("utf-8", "replace"))
        while self.read_some(0.05):
            pass
        return os.waitstatus_to_exitcode(self.status)

    def close(self):
        if self.pid:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            self.pid = 0
        os.close(self.fd)


PROMPT_MARK = rb"\n> "  # after the answer (stdout's "\n", then the marker on stderr)


class ChatPtyTest(CliCase):
    def session(self, *args):
        s = PtySession([cli_path(), "-m", self.model, "-t", "1", *args])
        self.addCleanup(s.close)
        return s

    def test_two_turns_reuse_the_cache_and_eof_exits_0(self):
        s = self.session("-v", "-n", "8", "-s", "1")
        s.expect(rb"== chat")
        s.expect(rb"> ")
        s.send(b"Hello\n")
        m1 = s.expect(rb"chat: turn 1: reusing 0 cached tokens, evaluating (\d+) new")
        s.expect(PROMPT_MARK, s.expect(rb"chat: turn 1: answered \d+ tokens", m1.end()).end())
        s.send(b"How are you?\n")
        m2 = s.expect(rb"chat: turn 2: reusing (\d+) cached tokens, evaluating (\d+) new \(conversation (\d+) tokens")
        reused, new, total = (int(x) for x in m2.groups())
        self.assertGreater(reused, int(m1.group(1)))  # turn 1's prompt and answer stay in the cache
        self.assertLess(new, total)
        self.assertEqual(reused + new, total)
        s.expect(PROMPT_MARK, s.expect(rb"chat: turn 2: answered", m2.end()).end())
        s.send(b"\x04")  # Ctrl-D at the prompt
        self.assertEqual(s.wait(), EXIT_OK)
        self.assertIn(b"load time =", s.out)

    def test_long_chat_on_the_shipped_model_outlives_the_context(self):
        """A chat longer than -c 256 on the shipped model keeps going with the notice; /save,
        /clear and /load round-trip the conversation."""
        s = PtySession([cli_path(), "-m", SHIPPED_MODEL, "-t", "1", "-v", "-c", "256", "-n", "40", "-s", "7",
                        "-sys", "You tell short stories."], timeout=90)
        self.addCleanup(s.close)
        conv = os.path.join(WORK, "long-chat.json")
        at = s.expect(rb"> ").end()
        for i in range(10):
            s.send(f"Tell me a story about a little dog named Max and a red ball, number {i}.\n".encode())
            at = s.expect(PROMPT_MARK, s.expect(rb"chat: turn %d: answered" % (i + 1), at).end()).end()
        self.assertIn(b"context: dropped the", s.out)
        self.assertIn(b"the system prompt stays", s.out)
        s.send(b"/save " + conv.encode() + b"\n")
        at = s.expect(rb"saved (\d+) messages", at).end()
        with open(conv) as f:
            saved = json.load(f)
        self.assertEqual(saved[0], {"role": "system", "content": "You tell short stories."})
        self.assertLess(len(saved), 21)  # older exchanges were dropped
        self.assertEqual(saved[-2]["content"], "Tell me a story about a little dog named Max and a red ball, number 9.")
        s.send(b"/clear\n")
        at = s.expect(rb"new conversation", at).end()
        s.send(b"/load " + conv.encode() + b"\n")
        at = s.expect(rb"loaded %d messages" % len(saved), at).end()
        s.send(b"/save " + conv.encode() + b".again\n")
        at = s.expect(rb"saved %d messages" % len(saved), at).end()
        with open(conv + ".again") as f:
            self.assertEqual(json.load(f), saved)
        s.send(b"And one more.\n")
        s.expect(rb"chat: turn 11: answered", at)
        s.send(b"/exit\n")
        self.assertEqual(s.wait(), EXIT_OK)

    def test_ctrl_c_stops_the_answer_and_returns_to_the_prompt(self):
        # A context of 65536 with --ignore-eos: an answer long enough to interrupt.
        s = self.session("-v", "-c", "65536", "--ignore-eos", "-s", "2")
        s.expect(rb"> ")
        s.send(b"Tell me a story\n")
        m = s.expect(rb"chat: turn 1: [^\n]*\n")
        s.expect(rb"[\s\S]{200}", m.end())  # the answer is streaming
        s.send(b"\x03")
        m = s.expect(rb"\[interrupted\]", m.end())
        m = s.expect(rb"> ", m.end())
        s.send(b"Go on\n")
        m = s.expect(rb"chat: turn 2: reusing [1-9]\d* cached tokens[^\n]*\n", m.end())
        s.expect(rb"[\s\S]{100}", m.end())
        s.send(b"\x03")
        m = s.expect(rb"\[interrupted\]", m.end())
        s.expect(rb"> ", m.end())
        s.send(b"\x03")  # Ctrl-C at the prompt leaves
        self.assertEqual(s.wait(), EXIT_INTERRUPTED)

    def test_single_turn(self):
        s = self.session("-st", "-n", "4")
        s.expect(rb"> ")
        s.send(b"Hi\n")
        self.assertEqual(s.wait(), EXIT_OK)
        self.assertIn(b"eval time", s.out)

    def test_chat_over_a_pipe_with_cnv(self):
        r = self.run_cli("-cnv", "-v", "-n", "6", "-s", "4", input=b"Hello\nAgain\n")
        self.assertEqual(r.returncode, 0, r.err)
        self.assertRegex(r.err, r"chat: turn 2: reusing [1-9]\d* cached tokens")
        r = self.run_cli("-n", "6", input=b"Hello\n")  # no terminal, no -cnv: no chat
        self.assert_one_error(r, EXIT_USAGE, "no prompt")

    def test_full_context_cuts_the_answer_and_the_chat_goes_on(self):
        r = self.run_cli("-cnv", "-v", "-c", "64", "--ignore-eos", input=b"Hello\nAgain\n")
        self.assertEqual(r.returncode, 0, r.err)
        self.assertIn("context full: the answer was cut after", r.err)
        self.assertIn("context: dropped the 1 oldest exchange to fit -c 64", r.err)
        self.assertRegex(r.err, r"chat: turn 2: answered \d+ tokens")

    def test_a_message_longer_than_the_context_is_refused_and_the_chat_goes_on(self):
        long = ("word " * 200).encode()
        r = self.run_cli("-cnv", "-v", "-c", "64", "-n", "4", input=long + b"\nHi\n")
        self.assertEqual(r.returncode, 0, r.err)
        self.assertRegex(r.err, r"error: this message needs \d+ tokens with the system prompt, more than the "
                                r"context of 64 \(-c\); not sent")
        self.assertRegex(r.err, r"chat: turn 1: answered")

    def test_commands_are_not_sent(self):
        conv = os.path.join(WORK, "commands.json")
        r = self.run_cli("-cnv", "-v", "-n", "4", "-s", "5", input=b"/help\n/nope\nHello\n/save " + conv.encode() +
                         b"\n/exit\nnever sent\n")
        self.assertEqual(r.returncode, 0, r.err)
        self.assertIn("/clear         start a new conversation", r.err)
        self.assertEqual(len(re.findall(r"error: ", r.err)), 1, r.err)
        self.assertIn("error: unknown command /nope (type /help for the list", r.err)
        self.assertNotIn("chat: turn 2", r.err)  # /exit left before "never sent"
        with open(conv) as f:
            saved = json.load(f)
        self.assertEqual([m["role"] for m in saved], ["user", "assistant"])
        self.assertEqual(saved[0]["content"], "Hello")


class BatchTest(CliCase):
    def write_batch(self, name, lines):
        path = os.path.join(WORK, name)
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def twenty_lines(self):
        lines = []
        for i in range(20):
            if i == 5:
                lines.append('{"id": "bad-json", "prompt": "unterminated')
            elif i == 13:
                lines.append('{"id": "bad-type", "prompt": 42}')
            elif i % 3 == 0:
                lines.append(f"Plain prompt number {i}")
            elif i % 3 == 1:
                lines.append(json.dumps({"id": f"p{i}", "prompt": f"JSON prompt {i}", "n_predict": 3 + i % 4}))
            else:
                lines.append(json.dumps({"id": i, "messages": [{"role": "system", "content": "Be brief."},
                                                               {"role": "user", "content": f"Question {i}"}],
                                         "max_tokens": 5}))
        return lines

    def test_twenty_prompts_two_malformed(self):
        lines = self.twenty_lines()
        path = self.write_batch("twenty.txt", lines)
        r = self.run_cli("--batch-file", path, "-n", "6", "-s", "9")
        self.assertEqual(r.returncode, EXIT_ERROR, r.err)  # a line failed
        out = [json.loads(line) for line in r.stdout.decode().splitlines()]
        self.assertEqual(len(out), 20)
        errors = [o for o in out if "error" in o]
        results = [o for o in out if "error" not in o]
        self.assertEqual(len(results), 18)
        self.assertEqual([(e["id"], e["line"]) for e in errors], [(6, 6), ("bad-type", 14)])  # bad JSON: the line number is the id
        self.assertIn("bad JSON", errors[0]["error"])
        self.assertIn('"prompt" must be a string', errors[1]["error"])
        self.assertEqual(len([l for l in r.err.splitlines() if l.startswith("error:")]), 2)
        for i, o in enumerate(out):  # input order, ids as given or the line number
            self.assertEqual(o.get("line"), i + 1)
            if "error" in o:
                continue
            expected_id = i + 1 if i % 3 == 0 else (f"p{i}" if i % 3 == 1 else i)
            self.assertEqual(o["id"], expected_id)
            for key in ("text", "prompt_tokens", "generated_tokens", "stop_reason", "timings"):
                self.assertIn(key, o)
            self.assertIn(o["stop_reason"], ("eog", "length", "context"))
            limit = 6 if i % 3 == 0 else (3 + i % 4 if i % 3 == 1 else 5)
            self.assertLessEqual(o["generated_tokens"], limit)
            if o["stop_reason"] == "length":
                self.assertEqual(o["generated_tokens"], limit)
            self.assertEqual(o["timings"]["prompt_n"], o["prompt_tokens"])
            self.assertEqual(o["timings"]["predicted_n"], o["generated_tokens"])

    def test_output_file_all_ok_and_matches_one_shot(self):
        path = self.write_batch("ok.txt", ["First prompt", "", json.dumps({"id": "x", "prompt": "Second"})])
        out = os.path.join(WORK, "ok.jsonl")
        r = self.run_cli("--batch-file", path, "--batch-output", out, "-n", "5", "-s", "11")
        self.assertEqual(r.returncode, EXIT_OK, r.err)
        self.assertEqual(r.stdout, b"")
        with open(out) as f:
            res = [json.loads(line) for line in f]
        self.assertEqual([o["id"] for o in res], [1, "x"])  # the blank line is skipped
        _, one = self.summary("-p", "Second", "-n", "5", "-s", "11")
        self.assertEqual(res[1]["text"], one["text"])  # each line from a fresh context and the same seed
        _, j = self.summary("--batch-file", path, "--batch-output", out, "-n", "5", "-s", "11")
        self.assertEqual({k: j["batch"][k] for k in ("ok", "failed", "interrupted", "parallel")},
                         {"ok": 2, "failed": 0, "interrupted": False, "parallel": 1})
        self.assertEqual(j["mode"], "batch")
        self.assertEqual(j["timings"]["predicted_n"], res[0]["generated_tokens"] + res[1]["generated_tokens"])

    def test_parallel_answers_are_those_of_one_at_a_time(self):
        # Continuous batching: 3 requests in flight over 11 lines of different lengths and limits,
        # a bad line among them; sampled (temperature 0.8, one seed), so any cross-talk between
        # the sequences of a batch would change the text.
        lines = []
        for i in range(11):
            if i == 4:
                lines.append('{"id": "bad", "prompt": 7}')
            else:
                lines.append(json.dumps({"id": i, "prompt": "word " * (1 + 3 * i) + f"number {i}",
                                         "n_predict": 4 + (i * 5) % 13}))
        path = self.write_batch("parallel.txt", lines)
        runs = {}
        for np_ in ("1", "3"):
            r = self.run_cli("--batch-file", path, "-np", np_, "--temp", "0.8", "-s", "5", "-ub", "16")
            self.assertEqual(r.returncode, EXIT_ERROR, r.err)  # the bad line
            runs[np_] = [json.loads(line) for line in r.stdout.decode().splitlines()]
            self.assertIn(f"{np_} in parallel", r.err)
        self.assertEqual([o["line"] for o in runs["3"]], list(range(1, 12)))  # input order
        self.assertIn("error", runs["3"][4])
        for a, b in zip(runs["1"], runs["3"]):
            self.assertEqual(a.get("text"), b.get("text"))
            self.assertEqual(a.get("generated_tokens"), b.get("generated_tokens"))
        self.assertTrue(any(o.get("generated_tokens", 0) > 0 for o in runs["3"]))
        # One line alone, as a one-shot run, gives the same text.
        _, one = self.summary("-p", "word " * 4 + "number 1", "-n", str(4 + 5 % 13), "--temp", "0.8", "-s", "5")
        self.assertEqual(runs["3"][1]["text"], one["text"])

    def test_parallel_needs_a_batch_file(self):
        self.assert_one_error(self.run_cli("-p", "x", "--parallel", "2"), EXIT_USAGE, "--parallel needs --batch-file")
        path = self.write_batch("np.txt", ["x"])
        self.assert_one_error(self.run_cli("--batch-file", path, "--parallel", "0"), EXIT_USAGE, "--parallel")

    def test_bad_lines(self):
        path = self.write_batch("bad.txt", [
            '{"prompt": ""}', '{"id": "no-prompt"}', '{"id": "n", "prompt": "x", "n_predict": "many"}',
            '{"id": "m", "messages": [{"role": "user"}]}', "A prompt that is far too long for this tiny context",
            "ok"])
        r = self.run_cli("--batch-file", path, "-c", "8", "-n", "2")
        self.assertEqual(r.returncode, EXIT_ERROR, r.err)
        out = [json.loads(line) for line in r.stdout.decode().splitlines()]
        self.assertEqual([o.get("error", "")[:12] for o in out[:5]],
                         ["empty prompt", 'missing "pro', '"n_predict" ', '"messages"[0', "the prompt i"])
        self.assertIn("longer than the context", out[4]["error"])
        self.assertNotIn("error", out[5])

    def test_unreadable_batch_file(self):
        r = self.run_cli("--batch-file", os.path.join(WORK, "missing.txt"))
        self.assert_one_error(r, EXIT_IO, "missing.txt")
        r = self.run_cli("--batch-file", WORK)
        self.assert_one_error(r, EXIT_IO, "directory")


class ErrorsTest(CliCase):
    def test_model_errors(self):
        self.assert_one_error(self.run_cli("-m", os.path.join(WORK, "nope.gguf"), "-p", "x", model=False),
                              EXIT_MODEL, "nope.gguf")
        self.assert_one_error(self.run_cli("-m", WORK, "-p", "x", model=False), EXIT_MODEL, "directory")
        self.assert_one_error(self.run_cli("-p", "x", model=False), EXIT_USAGE, "--model")

    def test_prompt_errors(self):
        self.assert_one_error(self.run_cli("-p", ""), EXIT_USAGE, "empty prompt")
        empty = os.path.join(WORK, "empty.txt")
        open(empty, "w").close()
        self.assert_one_error(self.run_cli("-f", empty), EXIT_USAGE, "empty prompt")
        self.assert_one_error(self.run_cli("-f", os.path.join(WORK, "none.txt")), EXIT_IO, "none.txt")
        self.assert_one_error(self.run_cli("-p", b"bad \xff byte"), EXIT_USAGE, "UTF-8", "byte 4")
        bad = os.path.join(WORK, "bad_utf8.txt")
        with open(bad, "wb") as f:
            f.write(b"ok \xc3")
        self.assert_one_error(self.run_cli("-f", bad), EXIT_USAGE, "UTF-8")
        self.assert_one_error(self.run_cli("-p", "x " * 40, "-c", "8"), EXIT_USAGE, "longer than the context")

    def test_flag_errors(self):
        cases = [
            (["-p", "x", "--no-such-flag"], "--no-such-flag"),
            (["-p", "x", "-f", "y"], "conflict"),
            (["--batch-file", "y", "-p", "x"], "conflict"),
            (["--batch-file", "y", "-cnv"], "conflict"),
            (["--token-ids", "1,2", "-p", "x"], "conflict"),
            (["-cnv", "-no-cnv"], "conflict"),
            (["--dump-logits", "x.npy", "-p", "x"], "--token-ids"),
            (["-p", "x", "--samplers", "top_k;bogus"], "bogus"),
            (["-p", "x", "-n", "-5"], "-n"),
            (["-p", "x", "--seed", "-7"], "--seed"),
            (["-p", "x", "-l", "12x"], "--logit-bias"),
            (["-p", "x", "-l", "100000+1"], "out of range"),
            (["-p", "x", "--memory-limit", "1K"], "--memory-limit"),
            (["-p", "x", "--repeat-penalty", "0"], "repeat-penalty"),
        ]
        for args, word in cases:
            with self.subTest(args=args):
                self.assert_one_error(self.run_cli(*args), EXIT_USAGE, word)

    def test_unwritable_outputs(self):
        self.assert_one_error(self.run_cli("-p", "x", "--json", "/nonexistent-dir/x.json"), EXIT_IO, "--json")

    def test_help(self):
        r = self.run_cli("--help", model=False)
        self.assertEqual(r.returncode, 0)
        text = r.stdout.decode()
        for flag in ("--temp", "--top-k", "--samplers", "--batch-file", "--json", "--ignore-eos", "-cnv",
                     "--chat-template", "llama.cpp's", "Exit codes"):
            self.assertIn(flag, text)


def main():
    global BIN, WORK
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", required=True, help="the build directory (smallthinker-cli, smallthinker-gen)")
    ap.add_argument("--work", required=True, help="a scratch directory")
    args, rest = ap.parse_known_args()
    BIN, WORK = os.path.abspath(args.bin), os.path.abspath(args.work)
    os.makedirs(WORK, exist_ok=True)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
