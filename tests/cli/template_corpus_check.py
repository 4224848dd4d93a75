#!/usr/bin/env python3
"""The Jinja engine against Python's jinja2 on a corpus of real chat templates, byte for byte.

Every template of tests/data/chat_templates/ (public templates, see SOURCES.md there), the Qwen3
template of ../shared/data/tokenizer/qwen3 and the shipped model's own template is rendered by
`smallthinker-cli --render-chat --chat-template-file` and by jinja2 the way Hugging Face
transformers renders it (ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True) with
the loopcontrols extension, raise_exception, strftime_now and transformers' tojson), over several
conversations: system + turns, an assistant turn with <think>, non-ASCII and quotes, tool
definitions with a tool call and its result. A conversation the template refuses (raise_exception)
must be refused by both. Prints N of M renderings identical; every one must be, except those
listed in KNOWN_DIFFERENCES with their reason.

    python3 tests/cli/template_corpus_check.py --bin BUILD_DIR --work SCRATCH_DIR [--only NAME]
"""
import argparse
import datetime
import json
import os
import subprocess
import sys

import jinja2
from jinja2.ext import Extension
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
CORPUS = os.path.join(ROOT, "tests", "data", "chat_templates")
QWEN3 = os.path.join(ROOT, "..", "shared", "data", "tokenizer", "qwen3", "tokenizer_config.json")
SHIPPED = os.path.join(ROOT, "models", "tinystories-st-q8_0.gguf")

TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Weather for a city, in \"°C\".",
    "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "The city"}},
                   "required": ["city"]}}}]

CONVERSATIONS = {
    "single user": {"messages": [{"role": "user", "content": "Hello"}]},
    "system and turns": {"messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "4."},
        {"role": "user", "content": "And 3+3?"}]},
    "assistant with think": {"messages": [
        {"role": "user", "content": "Think first."},
        {"role": "assistant", "content": "<think>\nLet me see.\n</think>\n\nDone."},
        {"role": "user", "content": "Again."}]},
    "non-ASCII and quotes": {"messages": [
        {"role": "system", "content": "Réponds en français, « poliment »."},
        {"role": "user", "content": "He said \"hi\" and 'bye' — 你好 🙂\nNew line\ttab {{ not jinja }}"}]},
    "ends with an answer": {"messages": [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"}]},
    "tools": {"tools": TOOLS, "messages": [
        {"role": "system", "content": "Use tools when they help."},
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "call_1", "type": "function", "function": {
            "name": "get_weather", "arguments": {"city": "Paris"}}}]},
        {"role": "tool", "tool_call_id": "call_1", "name": "get_weather", "content": "{\"temp\": 21}"},
        {"role": "user", "content": "Thanks."}]},
}


# Renderings known to differ, with the reason: the test fails if one of them starts to match (then
# remove it here) or if any other rendering differs.
KNOWN_DIFFERENCES = {
    **{("ByteDance-Seed-OSS.jinja", c): "a dict literal with integer keys ({0: 0, 512: 128}): our dicts "
       "are string-keyed, so the template is refused" for c in CONVERSATIONS},
    ("llama-cpp-deepseek-r1.jinja", "tools"): "jinja2 fails (tojson of a map() generator); we render the list",
    ("meetkai-functionary-medium-v3.1.jinja", "tools"): "'...'|safe + text: jinja2's Markup escapes the plain "
       "operand (&#34;); our strings carry no safe flag",
}


class GenerationTag(Extension):
    """transformers' {% generation %} ... {% endgeneration %}: renders its body."""
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_render"), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


class Refused(Exception):
    pass


def jinja_render(template, conv, bos, eos, kwargs):
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[GenerationTag, jinja2.ext.loopcontrols])

    def raise_exception(message):
        raise Refused(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: datetime.datetime.now().strftime(fmt)
    variables = dict(messages=conv["messages"], tools=conv.get("tools"), documents=None, add_generation_prompt=True)
    if bos is not None:
        variables["bos_token"] = bos
    if eos is not None:
        variables["eos_token"] = eos
    variables.update(kwargs)
    return env.from_string(template).render(**variables)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--only", help="one template (file name)")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    cli = os.path.join(os.path.abspath(args.bin), "smallthinker-cli")

    sys.path.insert(0, os.path.join(ROOT, "tools", "reference"))
    from gguf_read import GGUFFile  # the NumPy reference's independent GGUF reader
    g = GGUFFile(SHIPPED)
    tokens = g.metadata["tokenizer.ggml.tokens"]
    bos_id, eos_id = g.metadata.get("tokenizer.ggml.bos_token_id"), g.metadata.get("tokenizer.ggml.eos_token_id")
    bos = tokens[bos_id] if bos_id is not None else None
    eos = tokens[eos_id] if eos_id is not None else None

    templates = {}
    for name in sorted(os.listdir(CORPUS)):
        if name.endswith(".jinja"):
            with open(os.path.join(CORPUS, name), encoding="utf-8") as f:
                templates[name] = f.read()
    with open(QWEN3, encoding="utf-8") as f:
        templates["qwen3 (shared/data tokenizer_config.json)"] = json.load(f)["chat_template"]
    templates["shipped model"] = g.metadata["tokenizer.chat_template"]
    if args.only:
        templates = {k: v for k, v in templates.items() if k == args.only}

    # Variables the templates read: thinking switches and a fixed date, so both sides agree.
    kwargs = {"enable_thinking": True, "date_string": "26 Jul 2024"}
    total = identical = known = 0
    failures = []
    for name, text in templates.items():
        tpath = os.path.join(args.work, "template.jinja")
        with open(tpath, "w", encoding="utf-8") as f:
            f.write(text)
        for conv_name, conv in CONVERSATIONS.items():
            total += 1
            try:
                want = jinja_render(text, conv, bos, eos, kwargs)
                want_refused = None
            except Refused as e:
                want, want_refused = None, str(e)
            except Exception as e:  # jinja2 itself fails: ours must fail too
                want, want_refused = None, f"{type(e).__name__}: {e}"
            mpath = os.path.join(args.work, "conversation.json")
            with open(mpath, "w", encoding="utf-8") as f:
                json.dump(conv, f, ensure_ascii=False)
            r = subprocess.run([cli, "-m", SHIPPED, "--chat-template-file", tpath, "--render-chat", mpath,
                                "--chat-template-kwargs", json.dumps(kwargs)], capture_output=True, timeout=60)
            got = r.stdout.decode("utf-8", "replace") if r.returncode == 0 else None
            same = (want is not None and got == want) or (want is None and r.returncode == 2)  # or refused by both
            if (name, conv_name) in KNOWN_DIFFERENCES:
                if same:
                    failures.append((name, conv_name, "listed in KNOWN_DIFFERENCES but now identical", "", "", 0, ""))
                else:
                    known += 1
            elif same:
                identical += 1
            else:
                failures.append((name, conv_name, want_refused, want, got, r.returncode, r.stderr.decode()[-400:]))
    for (name, conv_name), why in KNOWN_DIFFERENCES.items():
        if name in templates:
            print(f"known difference: {name} / {conv_name}: {why}")
    for name, conv_name, refused, want, got, rc, err in failures:
        print(f"DIFFERENT: {name} / {conv_name}: exit {rc} {err.strip()}")
        if refused:
            print(f"  jinja2 refused: {refused}")
        elif got is not None and want is not None:
            i = next((k for k in range(min(len(want), len(got))) if want[k] != got[k]), min(len(want), len(got)))
            print(f"  first difference at byte {i}: want {want[max(0, i - 40):i + 40]!r}\n"
                  f"                              got  {got[max(0, i - 40):i + 40]!r}")
    print(f"{identical} of {total} renderings identical ({len(templates)} templates x {len(CONVERSATIONS)} "
          f"conversations; {known} known differences listed above)")
    return 0 if not failures and identical + known == total else 1


if __name__ == "__main__":
    sys.exit(main())
