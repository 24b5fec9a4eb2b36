"""Reference-overlap evaluators: SQuAD token F1 (QA) and ROUGE-L (summaries).

No model, no learned weights: the cheap, transparent end of the evaluator range,
and the yardstick the learned evaluators are correlated against.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from oracle.pipeline.quality.base import require_reference
from oracle.pipeline.quality.rouge import rouge_l_max, tokenize
from oracle.pipeline.quality.token_f1 import normalize_answer, token_f1

if TYPE_CHECKING:
    from oracle.protocol.task import Task


class TokenF1Evaluator:
    """SQuAD v1.1 official token F1, the max over the gold answers."""

    name = "token_f1"
    needs_reference = True

    def score(self, task: Task, outputs: Sequence[str]) -> list[float]:
        golds = require_reference(self, task)
        return [token_f1(o, golds) for o in outputs]

    def count_tokens(self, task: Task, outputs: Sequence[str]) -> int:
        ref_tokens = sum(len(normalize_answer(r).split()) for r in task.references)
        return sum(len(normalize_answer(o).split()) + ref_tokens for o in outputs)

    def close(self) -> None:
        pass


class RougeLEvaluator:
    """ROUGE-L F-measure (longest common subsequence), the max over the references."""

    name = "rouge_l"
    needs_reference = True

    def score(self, task: Task, outputs: Sequence[str]) -> list[float]:
        refs = require_reference(self, task)
        return [rouge_l_max(o, refs) for o in outputs]

    def count_tokens(self, task: Task, outputs: Sequence[str]) -> int:
        ref_tokens = sum(len(tokenize(r)) for r in task.references)
        return sum(len(tokenize(o)) + ref_tokens for o in outputs)

    def close(self) -> None:
        pass
