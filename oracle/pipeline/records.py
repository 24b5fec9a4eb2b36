"""Recorded runs: one record per (task, model), with every evaluator's score and cost.

``poq eval`` writes these (JSON Lines); the Monte Carlo engine draws rounds from
them, so simulated outputs, scores and costs follow the real joint distribution.
A record holds ids, outputs, scores and costs, never the datasets' texts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class EvaluatorCost:
    latency_ms: float
    tokens: int
    peak_memory_mb: float


@dataclass(frozen=True)
class ProfileRecord:
    task_id: str
    kind: str  # "qa" | "summarization"
    source: str  # "builtin" | "squad" | "cnn_dailymail" | a file name
    template: str  # prompt template id, e.g. "qa-v1"
    model: str  # short model name
    output: str
    latency_ms: float
    prompt_tokens: int
    output_tokens: int
    peak_memory_mb: float
    scores: dict[str, float]  # evaluator name -> score in [0, 1] (includes "token_f1" / "rouge_l")
    evaluator_costs: dict[str, EvaluatorCost] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict) -> ProfileRecord:
        costs = {k: EvaluatorCost(**v) for k, v in d.get("evaluator_costs", {}).items()}
        return cls(**{**d, "evaluator_costs": costs})


def read_records(path: Path) -> Iterator[ProfileRecord]:
    """Records of a JSONL profile; a bad line raises with the file and line number."""
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                yield ProfileRecord.from_dict(json.loads(line))
            except (json.JSONDecodeError, TypeError, KeyError) as exc:
                raise ValueError(f"{path}:{lineno}: not a profile record ({exc}); "
                                 "profiles are the records.jsonl that `poq eval` writes") from exc


def append_records(path: Path, records: Iterable[ProfileRecord]) -> None:
    """Append records and fsync, so an interrupted run keeps every finished item."""
    import os

    with open(path, "a", encoding="utf-8") as fh:
        for r in records:
            fh.write(r.to_json() + "\n")
        fh.flush()
        os.fsync(fh.fileno())
