#!/usr/bin/python3
"""The README's first command on the shipped model writes English that continues the story.

Runs `smallthinker-cli -m MODEL -p "once upon a time" -n 80` greedily and with the default sampler
(two seeds) and checks each output: exit status 0, the prompt echoed first, at least 40 words, and
at least 95% of the words found in the TinyStories corpus's own vocabulary (random or broken
weights give fragments that are not words), at least 30% of them distinct (no loop), with
sentence punctuation.

  /usr/bin/python3 tests/e2e/shipped_story.py --bin build --model models/M.gguf --corpus TEXT
"""
import argparse
import os
import re
import subprocess
import sys

WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--corpus", required=True, help="the training corpus (its words are the vocabulary)")
    a = ap.parse_args()
    vocab = set(WORD.findall(open(a.corpus, encoding="utf-8", errors="replace").read().lower()))
    prompt = "once upon a time"
    failures = 0
    for extra in (["--temp", "0"], ["--seed", "1"], ["--seed", "2"]):
        cmd = [os.path.join(a.bin, "smallthinker-cli"), "-m", a.model, "-p", prompt, "-n", "80"] + extra
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        out = r.stdout
        words = WORD.findall(out.lower())
        known = sum(w in vocab for w in words)
        problems = []
        if r.returncode != 0:
            problems.append(f"exit status {r.returncode}: {r.stderr.strip()[-300:]}")
        if not out.startswith(prompt):
            problems.append("the prompt is not echoed first")
        if len(words) < 40:
            problems.append(f"only {len(words)} words")
        if words and known / len(words) < 0.95:
            problems.append(f"only {known}/{len(words)} words are English words of the corpus")
        if words and len(set(words)) / len(words) < 0.3:
            problems.append(f"repeats itself: {len(set(words))} distinct words of {len(words)}")
        if not re.search(r"[.!?]", out[len(prompt):]):
            problems.append("no sentence ends")
        failures += bool(problems)
        print(f"{' '.join(extra)}: {len(words)} words, {known} known: {'FAIL ' + '; '.join(problems) if problems else 'ok'}")
        print("   " + out.strip().replace("\n", " ")[:300])
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
