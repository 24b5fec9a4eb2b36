"""ROUGE-L: the F-measure of the longest common subsequence of tokens.

Tokenisation follows Google's ``rouge-score`` package without stemming:
lower-case, every run of characters other than ``a-z0-9`` is a separator.
ROUGE-L rewards in-order overlap, so it suits summaries, where token F1's bag of
words ignores order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def tokenize(text: str) -> list[str]:
    return [t for t in _NON_ALNUM.split(text.lower()) if t]


def lcs_length(a: list[str], b: list[str]) -> int:
    """Length of the longest common subsequence (dynamic programming, O(len(a) * len(b)))."""
    if not a or not b:
        return 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0] * (len(b) + 1)
        for j, y in enumerate(b, start=1):
            cur[j] = prev[j - 1] + 1 if x == y else max(prev[j], cur[j - 1])
        prev = cur
    return prev[-1]


def rouge_l(prediction: str, reference: str) -> float:
    """LCS F1 between one prediction and one reference; 0 when either is empty."""
    pred, ref = tokenize(prediction), tokenize(reference)
    lcs = lcs_length(pred, ref)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(pred), lcs / len(ref)
    return 2 * precision * recall / (precision + recall)


def rouge_l_max(prediction: str, references: Iterable[str]) -> float:
    """The best ROUGE-L over several references."""
    references = list(references)
    if not references:
        raise ValueError("ROUGE-L needs at least one reference summary: this task has none")
    return max(rouge_l(prediction, r) for r in references)
