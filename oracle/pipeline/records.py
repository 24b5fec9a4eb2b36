"""Recorded runs: one record per (task, model), with every evaluator's score and cost.

``poq eval`` writes these (JSON Lines); the Monte Carlo engine draws rounds from
them, so simulated outputs, scores and costs follow the real joint distribution.
A record holds ids, outputs, scores and costs, never the datasets' texts. Beside
them, one ``ProbeRecord`` per (task, probe) holds what every evaluator gave a
non-answer (``oracle.pipeline.probes``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Self, TypeVar


@dataclass(frozen=True)
class EvaluatorCost:
    latency_ms: float
    tokens: int
    peak_memory_mb: float


_T = TypeVar("_T", bound="_Scored")


class _Scored:
    """JSON of a record that carries evaluator scores and costs: one line, keys sorted."""

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, d: dict) -> Self:
        costs = {k: EvaluatorCost(**v) for k, v in d.get("evaluator_costs", {}).items()}
        return cls(**{**d, "evaluator_costs": costs})


@dataclass(frozen=True)
class ProfileRecord(_Scored):
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


@dataclass(frozen=True)
class ProbeRecord(_Scored):
    """Every evaluator's score and cost for one probe (a non-answer) on one task."""

    task_id: str
    kind: str
    source: str
    probe: str  # a name in ``oracle.pipeline.probes.PROBES``
    version: str  # ``PROBES_VERSION`` when it was recorded
    output_tokens: int  # the probe answer's length in words
    scores: dict[str, float]
    evaluator_costs: dict[str, EvaluatorCost] = field(default_factory=dict)


def _read(path: Path, cls: type[_T], what: str, written_as: str) -> Iterator[_T]:
    """``cls`` items of a JSON Lines file; a bad line raises with the file and line number."""
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                yield cls.from_dict(json.loads(line))
            except (json.JSONDecodeError, TypeError, KeyError) as exc:
                raise ValueError(f"{path}:{lineno}: not a {what} record ({exc}); "
                                 f"{what}s are the {written_as} that `poq eval` writes") from exc


def read_records(path: Path) -> Iterator[ProfileRecord]:
    """Records of a JSONL profile (``records.jsonl``)."""
    return _read(path, ProfileRecord, "profile", "records.jsonl")


def read_probes(path: Path) -> Iterator[ProbeRecord]:
    """Probe records of a ``probes.jsonl``."""
    return _read(path, ProbeRecord, "probe", "probes.jsonl")


def write_lines(path: Path, items: Iterable[ProfileRecord | ProbeRecord]) -> None:
    """Replace ``path`` with one JSON line per item, atomically: a temporary file, fsynced, renamed over it.

    An interrupted run leaves the previous complete file or the new one, never a cut line, and a
    resumed run can add scores to records it wrote before (which appending could not).
    """
    import os

    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        for item in items:
            fh.write(item.to_json() + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
