"""Token-level F1 and exact match with SQuAD v1.1's official normalisation.

Mirrors ``evaluate-v1.1.py`` from the SQuAD authors: lower-case, strip
punctuation and the articles a/an/the, collapse white space; F1 over the bag of
tokens; the max over every gold answer.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Iterable

_PUNCT = set(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(text: str) -> str:
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCT)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def f1(prediction: str, gold: str) -> float:
    pred_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(gold).split()
    common = Counter(pred_tokens) & Counter(gold_tokens)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision = same / len(pred_tokens)
    recall = same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def max_over_golds(metric, prediction: str, golds: Iterable[str]) -> float:
    """SQuAD scores a prediction by its best match among the gold answers."""
    golds = list(golds)
    if not golds:
        raise ValueError("token F1 needs at least one gold answer: this task has no reference")
    return max(metric(prediction, g) for g in golds)


def token_f1(prediction: str, golds: Iterable[str]) -> float:
    return max_over_golds(f1, prediction, golds)
