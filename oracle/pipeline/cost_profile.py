"""Cost profiles of models and evaluators on the machine at hand, and the cost references they suggest.

From ``ProfileRecord``s: per model, the latency of one answer (median, p90),
throughput (answers/s, output tokens/s), peak memory and mean quality; per
evaluator, the amortised latency of scoring one output, throughput and peak
memory. ``batch_sweep`` times an embedding evaluator at several batch sizes.

``suggest_cost_model`` turns a pool of measured costs into a ``CostModel`` whose
references are the pool's p90, so the normalised costs of the pool spread over
[0, 1] (only the top tenth saturates a measure), and whose weights follow how
much each normalised measure varies across the pool: a measure that is the same
for everyone (say memory, on one machine) cannot tell nodes apart, so it gets
little weight.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from oracle.pipeline.records import ProfileRecord
from oracle.protocol.params import WAD, CostModel


def percentile(values: Sequence[float] | np.ndarray, q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else float("nan")


def cost_reference(values: Sequence[float] | np.ndarray) -> int:
    """A cost reference: the p90 of the measured values, rounded up, at least 1 (a reference is never 0).

    At the p90 normalised costs spread over [0, 1] and only the slowest tenth saturate. ``poq eval``'s
    suggested parameters and ``poq simulate``'s cost references both come from here.
    """
    return max(1, math.ceil(percentile(values, 90)))


@dataclass(frozen=True)
class ModelProfile:
    model: str
    n: int
    latency_median_ms: float
    latency_p90_ms: float
    answers_per_s: float
    output_tokens_per_s: float
    prompt_tokens_mean: float
    output_tokens_mean: float
    peak_memory_mb: float  # max over the model's answers
    quality: dict[str, float]  # evaluator -> mean score

    def quality_per_s(self, evaluator: str) -> float:
        return self.quality.get(evaluator, float("nan")) / (self.latency_median_ms / 1000.0)


@dataclass(frozen=True)
class EvaluatorProfile:
    evaluator: str
    n: int  # scored outputs
    latency_median_ms: float  # amortised per output
    latency_p90_ms: float
    outputs_per_s: float
    tokens_per_s: float
    tokens_mean: float
    peak_memory_mb: float


@dataclass(frozen=True)
class SweepPoint:
    evaluator: str
    batch_size: int
    texts: int
    median_ms: float
    texts_per_s: float
    peak_memory_mb: float


def model_profiles(records: Iterable[ProfileRecord]) -> list[ModelProfile]:
    by_model: dict[str, list[ProfileRecord]] = {}
    for r in records:
        by_model.setdefault(r.model, []).append(r)
    profiles = []
    for model, rs in by_model.items():
        lat = [r.latency_ms for r in rs]
        seconds = sum(lat) / 1000.0
        evaluators = sorted({k for r in rs for k in r.scores})
        quality = {e: statistics.fmean([r.scores[e] for r in rs if e in r.scores]) for e in evaluators}
        profiles.append(ModelProfile(
            model=model, n=len(rs), latency_median_ms=statistics.median(lat), latency_p90_ms=percentile(lat, 90),
            answers_per_s=len(rs) / seconds if seconds else float("nan"),
            output_tokens_per_s=sum(r.output_tokens for r in rs) / seconds if seconds else float("nan"),
            prompt_tokens_mean=statistics.fmean(r.prompt_tokens for r in rs),
            output_tokens_mean=statistics.fmean(r.output_tokens for r in rs),
            peak_memory_mb=max(r.peak_memory_mb for r in rs), quality=quality))
    return profiles


def evaluator_profiles(records: Iterable[ProfileRecord]) -> list[EvaluatorProfile]:
    costs: dict[str, list] = {}
    for r in records:
        for name, c in r.evaluator_costs.items():
            costs.setdefault(name, []).append(c)
    profiles = []
    for name, cs in costs.items():
        lat = [c.latency_ms for c in cs]
        seconds = sum(lat) / 1000.0
        profiles.append(EvaluatorProfile(
            evaluator=name, n=len(cs), latency_median_ms=statistics.median(lat), latency_p90_ms=percentile(lat, 90),
            outputs_per_s=len(cs) / seconds if seconds else float("inf"),
            tokens_per_s=sum(c.tokens for c in cs) / seconds if seconds else float("inf"),
            tokens_mean=statistics.fmean(c.tokens for c in cs), peak_memory_mb=max(c.peak_memory_mb for c in cs)))
    return profiles


def _weights(normalised: list[np.ndarray], floor: float = 0.05) -> list[int]:
    """WAD weights proportional to each normalised measure's spread (std), at least ``floor`` each."""
    spreads = np.array([float(np.std(x)) if len(x) else 0.0 for x in normalised])
    if spreads.sum() <= 0:
        spreads = np.ones(len(normalised))
    shares = np.maximum(spreads / spreads.sum(), floor)
    shares /= shares.sum()
    ints = [int(s * WAD) for s in shares]
    ints[0] += WAD - sum(ints)  # rounding remainder to latency, so the weights sum to WAD exactly
    return ints


def suggest_cost_model(latency_ms: Sequence[float], tokens: Sequence[float],
                       memory_mb: Sequence[float]) -> CostModel:
    """References at the pool's p90 (ceil, at least 1); weights by the spread of ``x / ref``."""
    measures = [np.asarray(x, dtype=float) for x in (latency_ms, tokens, memory_mb)]
    if any(len(x) == 0 for x in measures):
        raise ValueError("suggesting cost references needs at least one measured item")
    refs = [cost_reference(x) for x in measures]
    w = _weights([np.minimum(x / ref, 1.0) for x, ref in zip(measures, refs, strict=True)])
    return CostModel(w_latency=w[0], w_tokens=w[1], w_memory=w[2],
                     ref_latency_ms=refs[0], ref_tokens=refs[1], ref_memory_mb=refs[2])


def suggested_params(records: Sequence[ProfileRecord]) -> dict:
    """Cost models for the contract from a run's records (JSON-ready, WAD integers)."""
    inference = suggest_cost_model([r.latency_ms for r in records], [r.output_tokens for r in records],
                                   [r.peak_memory_mb for r in records])
    costs = [c for r in records for c in r.evaluator_costs.values()]
    out = {
        "basis": {"inference": "one answer: latency ms, output tokens, peak memory MB (p90 of the pool)",
                  "evaluator": "scoring one output, amortised over its round's batch (p90 of the pool)",
                  "items": len(records), "models": sorted({r.model for r in records})},
        "inference_cost": asdict(inference),
    }
    if costs:
        out["evaluator_cost"] = asdict(suggest_cost_model([c.latency_ms for c in costs], [c.tokens for c in costs],
                                                          [c.peak_memory_mb for c in costs]))
    return out


def batch_sweep(evaluator, texts: Sequence[str], batch_sizes: Sequence[int], repeats: int = 3) -> list[SweepPoint]:
    """Embedding throughput of ``evaluator.embed`` at each batch size (median of ``repeats``)."""
    from oracle.pipeline.cost import measure

    if not hasattr(evaluator, "embed"):
        raise ValueError(f"evaluator {evaluator.name!r} has no batched embed(): the sweep covers bi-encoders")
    points = []
    original = evaluator.batch_size
    try:
        evaluator.embed(texts[: max(batch_sizes)])  # warm-up: first-call allocations are not the steady state
        for b in batch_sizes:
            evaluator.batch_size = b
            times, peaks = [], []
            for _ in range(repeats):
                with measure() as m:
                    evaluator.embed(texts)
                times.append(m.latency_ms)
                peaks.append(m.peak_memory_mb)
            med = statistics.median(times)
            points.append(SweepPoint(evaluator=evaluator.name, batch_size=b, texts=len(texts), median_ms=med,
                                     texts_per_s=len(texts) / (med / 1000.0), peak_memory_mb=max(peaks)))
    finally:
        evaluator.batch_size = original
    return points
