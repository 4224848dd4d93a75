"""TinyStories corpus: cleaning, story split, train/test split, tokenization.

The corpus (../shared/data/corpus/tinystories-subset-Arnoochka.txt, CDLA-Sharing-1.0) is the first
5,000 TinyStories training stories, lower-cased. Stories are separated by a single newline;
paragraphs inside a story by a blank line. The file carries UTF-8 punctuation that was decoded as
cp1252 once ("â€™" for a right single quote, "â€œ" for a left double quote); we map these back to
ASCII quotes. The last 5% of stories (by order in the file) are the held-out test split, never used
for the tokenizer or for training.
"""
import os
import re

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
DEFAULT_CORPUS = os.path.abspath(os.path.join(
    REPO, "..", "shared", "data", "corpus", "tinystories-subset-Arnoochka.txt"))
TEST_FRACTION = 0.05

_MOJIBAKE = [("â€™", "'"), ("â€˜", "'"), ("â€œ", '"'), ("â€¦", "..."), ("â€", '"'),
             ("\u2019", "'"), ("\u2018", "'"), ("\u201c", '"'), ("\u201d", '"')]


def clean(text):
    for a, b in _MOJIBAKE:
        text = text.replace(a, b)
    return text


def load_stories(path=DEFAULT_CORPUS):
    with open(path, encoding="utf-8") as f:
        text = clean(f.read())
    stories = [s.strip() for s in re.split(r"(?<!\n)\n(?!\n)", text)]
    return [s for s in stories if s]


def split_stories(stories, test_fraction=TEST_FRACTION):
    n_test = max(1, int(round(len(stories) * test_fraction)))
    return stories[:-n_test], stories[-n_test:]


def encode_stories(tok, stories):
    """Concatenates stories as  s0 <eot> s1 <eot> ...  (uint16 ids)."""
    ids = []
    for s in stories:
        ids += tok.encode(s)
        ids.append(tok.eot_id)
    return np.array(ids, dtype=np.uint16)
