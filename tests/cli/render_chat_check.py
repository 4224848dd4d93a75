#!/usr/bin/env python3
"""`smallthinker-cli --render-chat` against Python's jinja2 rendering the same template as Hugging
Face transformers does (ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True),
raise_exception, a tojson filter), byte for byte, over several conversations: the Qwen3 template of
../shared/data/tokenizer/qwen3 (in a generated model carrying that vocabulary) and the shipped
model's own template. Prints how many render identically; every one must.

    python3 tests/cli/render_chat_check.py --bin BUILD_DIR --work SCRATCH_DIR
"""
import argparse
import json
import os
import subprocess
import sys
import unittest

from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
QWEN3_DIR = os.path.join(ROOT, "..", "shared", "data", "tokenizer", "qwen3")
SHIPPED = os.path.join(ROOT, "models", "tinystories-st-q8_0.gguf")
BIN = WORK = None

CONVERSATIONS = {
    "single user": [{"role": "user", "content": "Hello"}],
    "system and turns": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "4."},
        {"role": "user", "content": "And 3+3?"}],
    "assistant with think": [
        {"role": "user", "content": "Think first."},
        {"role": "assistant", "content": "<think>\nLet me see.\n</think>\n\nDone."},
        {"role": "user", "content": "Again."}],
    "two thinking answers": [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "<think>\nx\n</think>\n\nA"},
        {"role": "user", "content": "b"},
        {"role": "assistant", "content": "<think>\ny\n</think>\n\nB"},
        {"role": "user", "content": "c"}],
    "non-ASCII and quotes": [
        {"role": "system", "content": "Réponds en français, « poliment »."},
        {"role": "user", "content": "He said \"hi\" and 'bye' — 你好 🙂\nNew line\ttab"}],
    "ends with an answer": [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"}],
}


def jinja_render(template, messages, **extra):
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)

    def raise_exception(message):
        raise Exception(message)

    env.globals["raise_exception"] = raise_exception
    env.filters["tojson"] = lambda x, ensure_ascii=False, indent=None, separators=None, sort_keys=False: json.dumps(
        x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)
    return env.from_string(template).render(messages=messages, add_generation_prompt=True, bos_token="",
                                            eos_token="<|im_end|>", **extra)


class RenderChatTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        os.makedirs(WORK, exist_ok=True)
        vocab = os.path.join(WORK, "qwen3-vocab.gguf")
        subprocess.run([os.path.join(BIN, "smallthinker-vocab"), "--tokenizer-json",
                        os.path.join(QWEN3_DIR, "tokenizer.json"), "--tokenizer-config",
                        os.path.join(QWEN3_DIR, "tokenizer_config.json"), "--n-vocab", "151936", "-o", vocab],
                       check=True, capture_output=True)
        cls.qwen3_model = os.path.join(WORK, "qwen3-tiny.gguf")
        subprocess.run([os.path.join(BIN, "smallthinker-gen"), "--preset", "tiny", "--type", "q8_0", "-t", "1",
                        "--vocab-gguf", vocab, "--vocab", "151936", "-o", cls.qwen3_model],
                       check=True, capture_output=True)
        with open(os.path.join(QWEN3_DIR, "tokenizer_config.json")) as f:
            cls.qwen3_template = json.load(f)["chat_template"]
        cls.identical = cls.total = 0

    @classmethod
    def tearDownClass(cls):
        print(f"render_chat_check: {cls.identical} of {cls.total} renderings identical to jinja2", file=sys.stderr)

    def ours(self, model, messages, *extra):
        path = os.path.join(WORK, "messages.json")
        with open(path, "w") as f:
            json.dump(messages, f, ensure_ascii=False)
        r = subprocess.run([os.path.join(BIN, "smallthinker-cli"), "-m", model, "--render-chat", path, *extra],
                           capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        return r.stdout.decode("utf-8")

    def compare(self, model, template, kwargs=None):
        for name, messages in CONVERSATIONS.items():
            with self.subTest(conversation=name, kwargs=kwargs):
                extra = ["--chat-template-kwargs", json.dumps(kwargs)] if kwargs else []
                want = jinja_render(template, messages, **(kwargs or {}))
                type(self).total += 1
                self.assertEqual(self.ours(model, messages, *extra), want)
                type(self).identical += 1

    def test_qwen3_template(self):
        self.compare(self.qwen3_model, self.qwen3_template)

    def test_qwen3_template_without_thinking(self):
        self.compare(self.qwen3_model, self.qwen3_template, {"enable_thinking": False})

    def test_shipped_model_template(self):
        sys.path.insert(0, os.path.join(ROOT, "tools", "reference"))
        from gguf_read import GGUFFile  # the NumPy reference's independent GGUF reader
        template = GGUFFile(SHIPPED).metadata["tokenizer.chat_template"]
        self.compare(SHIPPED, template)

    def test_errors(self):
        bad = os.path.join(WORK, "bad.json")
        with open(bad, "w") as f:
            f.write('[{"role": "", "content": "x"}]')
        r = subprocess.run([os.path.join(BIN, "smallthinker-cli"), "-m", SHIPPED, "--render-chat", bad],
                           capture_output=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"message 0: \"role\" must be a non-empty string", r.stderr)
        r = subprocess.run([os.path.join(BIN, "smallthinker-cli"), "-m", SHIPPED, "--render-chat", bad,
                            "--chat-template-kwargs", "[1]"], capture_output=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"--chat-template-kwargs '[1]': expected a JSON object", r.stderr)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--work", required=True)
    args, rest = ap.parse_known_args()
    BIN, WORK = os.path.abspath(args.bin), os.path.abspath(args.work)
    unittest.main(argv=[sys.argv[0], "-v", *rest])
