#!/usr/bin/env python3
"""smallthinker-server end to end: curl for /health, /metrics, auth and bad bodies; raw sockets for
a client that disconnects mid-stream; signals; and the official `openai` npm client
(openai_client.mjs) for chat, streaming, concurrency and the prompt cache.

    python3 tests/server/server_check.py --bin BUILD --model MODEL.gguf --npm NPM_DIR --work SCRATCH [unittest args]

The model is the shipped TinyStories SmallThinker (real words, a ChatML template, a 64-token
sliding window). Registered with CTest by tests/server.cmake (label "server").
"""
import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

BIN = MODEL = NPM = WORK = None
KEY = "test-key-123"


class Server:
    """A smallthinker-server on a free port; its stderr goes to a log file."""

    def __init__(self, *args, model=None, wait_ready=True):
        os.makedirs(WORK, exist_ok=True)
        self.log_path = os.path.join(WORK, f"server-{time.monotonic_ns()}.log")
        self.log = open(self.log_path, "wb")
        cmd = [os.path.join(BIN, "smallthinker-server"), "-m", model or MODEL, "--port", "0", "-t", "2", *args]
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=self.log)
        self.url = None
        deadline = time.time() + 30
        while time.time() < deadline and self.url is None:
            m = re.search(r"listening on (http://[\d.]+:\d+)", self.text())
            if m:
                self.url = m.group(1)
            elif self.proc.poll() is not None:
                raise RuntimeError("server exited: " + self.text())
            time.sleep(0.02)
        if self.url is None:
            raise RuntimeError("server did not listen: " + self.text())
        if wait_ready:
            while "ready:" not in self.text():
                if self.proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("server not ready: " + self.text())
                time.sleep(0.02)

    def text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


def curl(url, path, body=None, key=None, method=None, headers=(), raw=None):
    """Returns (status, headers text, body text) of one curl request."""
    cmd = ["curl", "-s", "-S", "-D", "-", "--max-time", "60", url + path]
    if method:
        cmd += ["-X", method]
    if key:
        cmd += ["-H", f"Authorization: Bearer {key}"]
    for h in headers:
        cmd += ["-H", h]
    if body is not None or raw is not None:
        data = raw if raw is not None else json.dumps(body)
        cmd += ["-H", "Content-Type: application/json", "--data-binary", "@-"]
    else:
        data = None
    r = subprocess.run(cmd, input=data.encode() if isinstance(data, str) else data, capture_output=True, timeout=90)
    out = r.stdout.decode("utf-8", "replace")
    head, _, text = out.partition("\r\n\r\n")
    m = re.match(r"HTTP/1\.1 (\d+)", head)
    if not m:
        raise AssertionError(f"no HTTP response from curl: {r.stderr!r} {out!r}")
    return int(m.group(1)), head, text


def metric(text, name):
    m = re.search(rf"^{re.escape(name)} ([\d.e+-]+)$", text, re.M)
    return float(m.group(1)) if m else None


class HttpTest(unittest.TestCase):
    """One server with an API key, 4 slots, a 512-token context and a small body limit."""

    @classmethod
    def setUpClass(cls):
        cls.srv = Server("--api-key", KEY, "--parallel", "4", "-c", "512", "--max-body", "65536")
        cls.fresh = Server("--parallel", "1", "-c", "512")

    @classmethod
    def tearDownClass(cls):
        cls.fresh.stop()
        cls.assert_rc = cls.srv.stop()

    def api(self, path, body=None, **kw):
        return curl(self.srv.url, path, body, key=KEY, **kw)

    def error(self, status, text, *words):
        j = json.loads(text)
        self.assertEqual(set(j["error"].keys()), {"message", "type", "code"}, text)
        self.assertEqual(j["error"]["code"], status, text)
        for w in words:
            self.assertIn(w, j["error"]["message"])
        return j["error"]

    def test_health_needs_no_key_and_says_ok(self):
        status, _, text = curl(self.srv.url, "/health")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(text)["status"], "ok")

    def test_api_key_is_required_everywhere_but_health_and_the_page(self):
        for path in ["/v1/models", "/metrics", "/v1/chat/completions", "/tokenize"]:
            body = {} if path in ("/v1/chat/completions", "/tokenize") else None
            status, head, text = curl(self.srv.url, path, body)
            self.assertEqual(status, 401, path)
            self.assertEqual(self.error(401, text)["type"], "authentication_error")
            status, _, text = curl(self.srv.url, path, body, key="wrong")
            self.assertEqual(status, 401, path)
        status, head, _ = curl(self.srv.url, "/")
        self.assertEqual(status, 200)
        self.assertIn("Content-Security-Policy: default-src 'none'; script-src 'self'", head)
        status, _, text = self.api("/v1/models")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(text)["object"], "list")

    def test_bad_bodies_are_400_and_the_server_stays_healthy(self):
        cases = [
            ("/v1/chat/completions", "{not json", "not valid JSON"),
            ("/v1/chat/completions", "[]", "must be a JSON object"),
            ("/v1/chat/completions", '{"messages": "hi"}', "'messages' must be a non-empty array"),
            ("/v1/chat/completions", '{"messages": [{"role": "wizard", "content": "x"}]}', "role 'wizard' is unknown"),
            ("/v1/chat/completions", '{"messages": [{"role": "user", "content": "x"}], "max_tokens": "ten"}',
             "'max_tokens' must be an integer"),
            ("/v1/chat/completions", '{"messages": [{"role": "user", "content": "x"}], "top_k": -3}', "'top_k'"),
            ("/v1/completions", '{"prompt": 12}', "'prompt' must be a string or an array of token ids"),
            ("/v1/completions", '{"prompt": [1, 2, 999999]}', "must be a token id"),
            ("/v1/completions", json.dumps({"prompt": "word " * 1000}), "the context holds 512"),
            ("/v1/completions", '{"prompt": "hi", "max_tokens": 600}', "the context holds 512"),
            ("/tokenize", '{"content": 5}', "'content' must be a string"),
            ("/detokenize", '{"tokens": ["a"]}', "must be a token id"),
        ]
        for path, raw, words in cases:
            status, _, text = self.api(path, raw=raw)
            self.assertEqual(status, 400, (path, raw, text))
            self.error(400, text, words)
        status, _, text = self.api("/v1/completions", raw=json.dumps({"prompt": "x" * 70000}))
        self.assertEqual(status, 413)
        self.error(413, text, "too large")
        status, _, text = self.api("/no/such/route")
        self.assertEqual(status, 404)
        self.error(404, text, "no route GET /no/such/route")
        status, _, text = self.api("/v1/completions", {"prompt": "once upon a time", "max_tokens": 4, "temperature": 0})
        self.assertEqual(status, 200, text)
        self.assertEqual(json.loads(text)["usage"]["completion_tokens"], 4)

    def test_tokenize_detokenize_and_apply_template(self):
        status, _, text = self.api("/tokenize", {"content": "once upon a time", "with_pieces": True})
        self.assertEqual(status, 200, text)
        tokens = json.loads(text)["tokens"]
        self.assertEqual("".join(t["piece"] for t in tokens), "once upon a time")
        status, _, text = self.api("/detokenize", {"tokens": [t["id"] for t in tokens]})
        self.assertEqual(json.loads(text)["content"], "once upon a time")
        status, _, text = self.api("/apply-template", {"messages": [{"role": "user", "content": "hi"}]})
        self.assertEqual(status, 200, text)
        self.assertEqual(json.loads(text)["prompt"], "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n")

    def test_metrics_count_requests_and_tokens(self):
        _, _, before = self.api("/metrics")
        self.assertEqual(metric(before, "smallthinker_slots_total"), 4)
        status, _, text = self.api("/v1/completions", {"prompt": "the dog", "max_tokens": 6, "temperature": 0})
        self.assertEqual(status, 200, text)
        status, head, after = self.api("/metrics")
        self.assertEqual(status, 200)
        self.assertIn("Content-Type: text/plain; version=0.0.4", head)
        self.assertGreaterEqual(metric(after, "smallthinker_tokens_predicted_total"),
                                metric(before, "smallthinker_tokens_predicted_total") + 6)
        self.assertGreater(metric(after, "smallthinker_prompt_tokens_total"), 0)
        self.assertIn('smallthinker_http_requests_total{route="/v1/completions",status="200"}', after)
        self.assertIn("# TYPE smallthinker_predicted_tokens_seconds gauge", after)

    def test_a_client_that_disconnects_mid_stream_frees_its_slot(self):
        host, port = self.srv.url[len("http://"):].split(":")
        body = json.dumps({"prompt": "once upon a time", "max_tokens": 400, "ignore_eos": True, "stream": True})
        _, _, m0 = self.api("/metrics")
        s = socket.create_connection((host, int(port)))
        s.sendall((f"POST /v1/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\n"
                   f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n{body}").encode())
        got = b""
        while got.count(b"data: ") < 3:
            got += s.recv(4096)
        s.close()
        deadline = time.time() + 5
        while True:
            _, _, m = self.api("/metrics")
            if metric(m, "smallthinker_requests_cancelled_total") > metric(m0, "smallthinker_requests_cancelled_total"):
                break
            self.assertLess(time.time(), deadline, "the slot was not freed")
            time.sleep(0.05)
        # It stopped long before its 400 tokens.
        generated = metric(m, "smallthinker_tokens_predicted_total") - metric(m0, "smallthinker_tokens_predicted_total")
        print(f"disconnect after {got.count(b'data: ')} events: {generated:.0f} tokens generated in all", file=sys.stderr)
        self.assertLess(generated, 50)

    def test_the_openai_client(self):
        r = subprocess.run(["node", os.path.join(os.path.dirname(__file__), "openai_client.mjs"), "--url", self.srv.url,
                            "--key", KEY, "--fresh-url", self.fresh.url, "--npm", NPM],
                           capture_output=True, text=True, timeout=240)
        print(r.stdout, r.stderr, file=sys.stderr)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


class QueueTest(unittest.TestCase):
    def test_a_full_queue_is_503_with_a_json_error(self):
        srv = Server("--parallel", "1", "--queue", "1", "-c", "512")
        try:
            body = {"prompt": "once upon a time", "max_tokens": 300, "ignore_eos": True}
            results = []
            threads = [threading.Thread(target=lambda: results.append(curl(srv.url, "/v1/completions", body)))
                       for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            statuses = sorted(r[0] for r in results)
            self.assertIn(200, statuses)
            self.assertIn(503, statuses)
            for status, _, text in results:
                if status == 503:
                    err = json.loads(text)["error"]
                    self.assertEqual(err["type"], "unavailable_error")
                    self.assertIn("slots are busy", err["message"])
            self.assertEqual(curl(srv.url, "/health")[0], 200)
        finally:
            self.assertEqual(srv.stop(), 0)


class LifecycleTest(unittest.TestCase):
    def test_health_is_503_while_the_model_loads(self):
        # A FIFO as the model: opening it blocks until a writer comes, so the server is loading.
        fifo = os.path.join(WORK, "loading.gguf")
        if os.path.exists(fifo):
            os.unlink(fifo)
        os.mkfifo(fifo)
        srv = Server(model=fifo, wait_ready=False)
        status, _, text = curl(srv.url, "/health")
        self.assertEqual(status, 503)
        self.assertEqual(json.loads(text)["error"]["message"], "loading the model")
        self.assertEqual(curl(srv.url, "/v1/models")[0], 503)
        # Opening the other end lets the server's open() return; writing could meet a reader that has
        # already closed (it refuses a FIFO at once), so nothing is written.
        with open(fifo, "wb"):
            pass
        srv.proc.wait(timeout=20)
        self.assertEqual(srv.proc.returncode, 2, srv.text())  # -m names no model file: a usage error
        self.assertIn("is not a regular file", srv.text())
        srv.log.close()

    def test_sigterm_ends_streams_in_flight_and_exits_0(self):
        srv = Server("-c", "512")
        body = json.dumps({"prompt": "once upon a time", "max_tokens": 500, "ignore_eos": True, "stream": True})
        p = subprocess.Popen(["curl", "-s", "-N", "--max-time", "60", srv.url + "/v1/completions",
                              "-H", "Content-Type: application/json", "-d", body], stdout=subprocess.PIPE)
        first = p.stdout.readline()
        self.assertTrue(first.startswith(b"data: "), first)
        srv.proc.send_signal(signal.SIGTERM)
        rest = p.stdout.read()
        p.stdout.close()
        p.wait(timeout=20)
        self.assertEqual(srv.proc.wait(timeout=20), 0, srv.text())
        self.assertIn(b"shutting down", rest)
        self.assertIn("SIGTERM received", srv.text())
        srv.log.close()

    def test_sigint_exits_0_too(self):
        srv = Server("-c", "256")
        self.assertEqual(curl(srv.url, "/health")[0], 200)
        srv.proc.send_signal(signal.SIGINT)
        self.assertEqual(srv.proc.wait(timeout=20), 0, srv.text())
        self.assertIn("SIGINT received", srv.text())
        srv.log.close()

    def test_chat_template_file(self):
        path = os.path.join(WORK, "template.jinja")
        with open(path, "w") as f:
            f.write("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
                    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
        srv = Server("-c", "256", "--chat-template-file", path)
        try:
            status, _, text = curl(srv.url, "/apply-template",
                                   {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]})
            self.assertEqual(status, 200, text)
            self.assertEqual(json.loads(text)["prompt"],
                             "<|im_start|>system\ns<|im_end|>\n<|im_start|>user\nu<|im_end|>\n<|im_start|>assistant\n")
        finally:
            self.assertEqual(srv.stop(), 0)
        with open(path, "w") as f:
            f.write("{% for m in messages %}\n[INST] {{ m.content } [/INST]\n{% endfor %}")  # a syntax error
        r = subprocess.run([os.path.join(BIN, "smallthinker-server"), "-m", MODEL, "--port", "0", "--chat-template-file",
                            path], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("error: --chat-template:", r.stderr)
        self.assertIn("line 2, column", r.stderr)

    def test_bad_flags_are_usage_errors(self):
        for args, words in [(["--port", "70000"], "--port"), (["--parallel", "0"], "--parallel"),
                            (["--api-key", "a", "--api-key-file", "/etc/hostname"], "conflict")]:
            r = subprocess.run([os.path.join(BIN, "smallthinker-server"), "-m", MODEL, *args], capture_output=True,
                               text=True, timeout=30)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn(words, r.stderr)


def main():
    global BIN, MODEL, NPM, WORK
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--npm", required=True)
    ap.add_argument("--work", required=True)
    args, rest = ap.parse_known_args()
    BIN, MODEL, NPM, WORK = (os.path.abspath(p) for p in (args.bin, args.model, args.npm, args.work))
    os.makedirs(WORK, exist_ok=True)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
