"""The one interface every quality evaluator implements, and its measured call.

An evaluator scores a batch of outputs for one task (the outputs of one round)
with values in [0, 1]. ``scored()`` wraps that call in ``oracle.pipeline.cost.measure``
so every score comes with the cost an evaluator node would attest: wall time,
tokens it processed, and peak memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from oracle.pipeline.cost import measure
from oracle.pipeline.records import EvaluatorCost

if TYPE_CHECKING:
    from oracle.protocol.task import Task


@runtime_checkable
class Evaluator(Protocol):
    """Scores outputs of one task; each score is in [0, 1], higher is better."""

    name: str
    needs_reference: bool

    def score(self, task: Task, outputs: Sequence[str]) -> list[float]:
        """One score per output, computed as one batch."""

    def count_tokens(self, task: Task, outputs: Sequence[str]) -> int:
        """Tokens ``score(task, outputs)`` feeds its model: the evaluator's attested work."""

    def close(self) -> None:
        """Release the model (memory, file handles)."""


@dataclass(frozen=True)
class Scored:
    """Scores of a batch and what the batch cost as a whole."""

    scores: list[float]
    cost: EvaluatorCost

    def per_item_cost(self) -> EvaluatorCost:
        """The batch's cost shared equally among its items (the amortised cost of one output)."""
        n = max(1, len(self.scores))
        return EvaluatorCost(latency_ms=self.cost.latency_ms / n, tokens=round(self.cost.tokens / n),
                             peak_memory_mb=self.cost.peak_memory_mb)


def require_reference(evaluator: Evaluator, task: Task) -> tuple[str, ...]:
    """The task's references, or an error naming the evaluator and the task."""
    if not task.references:
        raise ValueError(f"evaluator {evaluator.name!r} needs a reference answer, but task {task.id!r} has "
                         "none: pick a reference-free evaluator (e.g. qwen-cross) for it")
    return task.references


def clip01(x: float) -> float:
    return 0.0 if x < 0.0 else 1.0 if x > 1.0 else float(x)


def scored(evaluator: Evaluator, task: Task, outputs: Sequence[str]) -> Scored:
    """Score a batch inside ``measure()``; tokens are counted outside the timed block."""
    outputs = list(outputs)
    with measure() as m:
        scores = evaluator.score(task, outputs)
    if len(scores) != len(outputs):
        raise RuntimeError(f"evaluator {evaluator.name!r} returned {len(scores)} scores for "
                           f"{len(outputs)} outputs")
    bad = [s for s in scores if not 0.0 <= s <= 1.0]
    if bad:
        raise RuntimeError(f"evaluator {evaluator.name!r} returned scores outside [0, 1]: {bad}")
    tokens = evaluator.count_tokens(task, outputs)
    return Scored(scores=[float(s) for s in scores],
                  cost=EvaluatorCost(latency_ms=m.latency_ms, tokens=tokens, peak_memory_mb=m.peak_memory_mb))
