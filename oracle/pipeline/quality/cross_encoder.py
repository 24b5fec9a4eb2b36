"""Hugging Face cross-encoders (sentence-transformers ``CrossEncoder``).

A cross-encoder reads the source and the answer together in one forward pass
(full attention across both), unlike a bi-encoder, which embeds each alone. The
pair is (question + context, output) for QA and (article, output) for
summaries; the model truncates the longer, first segment. It needs no reference.

- one-logit heads (rerankers such as ``cross-encoder/ms-marco-MiniLM-L-6-v2``):
  score = sigmoid(logit), the relevance of the answer to the question;
- NLI heads (``cross-encoder/nli-deberta-v3-base``): score = softmax probability
  of the ``entailment`` label, i.e. how far the source entails the answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from oracle.protocol.task import Task


def source_text(task: Task) -> str:
    """What a cross-encoder reads before the answer: the question and its context, or the article."""
    if task.question:
        return f"{task.question} {task.context}".strip()
    return task.context


class CrossEncoderEvaluator:
    """Scores (source, output) pairs with a sentence-transformers ``CrossEncoder``."""

    needs_reference = False

    def __init__(self, name: str, model_path: str, batch_size: int = 16, device: str | None = None):
        from sentence_transformers import CrossEncoder

        self.name = name
        self.batch_size = batch_size
        self.model = CrossEncoder(model_path, device=device)
        labels = {v.lower(): int(k) for k, v in (self.model.config.id2label or {}).items()}
        n = self.model.config.num_labels
        # An NLI head scores entailment; a single-logit head is a relevance logit.
        self.label = None if n == 1 else labels.get("entailment", n - 1)

    def score(self, task: Task, outputs: Sequence[str]) -> list[float]:
        src = source_text(task)
        pairs = [(src, o) for o in outputs]
        if not pairs:
            return []
        import torch

        # Raw logits: we apply the head's own activation below, whatever the model's default.
        logits = np.asarray(self.model.predict(pairs, batch_size=self.batch_size,
                                               activation_fn=torch.nn.Identity(),
                                               convert_to_numpy=True, show_progress_bar=False),
                            dtype=np.float64)
        if self.label is None:
            return [float(x) for x in 1.0 / (1.0 + np.exp(-logits.reshape(-1)))]
        logits = logits.reshape(len(pairs), -1)
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        return [float(p) for p in probs[:, self.label]]

    def count_tokens(self, task: Task, outputs: Sequence[str]) -> int:
        src = source_text(task)
        limit = self.model.max_seq_length or self.model.tokenizer.model_max_length
        enc = self.model.tokenizer([src] * len(outputs), list(outputs), truncation=True, max_length=limit)
        return sum(len(x) for x in enc["input_ids"])

    def close(self) -> None:
        del self.model
