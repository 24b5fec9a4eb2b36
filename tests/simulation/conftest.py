"""Small profiles built in the test, in the exact format `poq eval` records (ProfileRecord JSONL)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import pytest

from oracle.pipeline.probes import PROBES_VERSION
from oracle.pipeline.records import EvaluatorCost, ProbeRecord, ProfileRecord, write_lines


@dataclass(frozen=True)
class ModelSpec:
    quality: float  # mean score before task difficulty and evaluator noise
    latency_ms: float
    tokens: int
    memory_mb: float


# A strong cheap model, a middling one, and a weak expensive one.
MODELS = {
    "strong-cheap": ModelSpec(0.85, 400, 12, 900),
    "middling": ModelSpec(0.55, 1_500, 30, 1_800),
    "weak-costly": ModelSpec(0.30, 3_500, 60, 3_200),
}
# Evaluator name -> (score noise std, per-item latency ms, tokens, memory MB).
EVALUATORS = {
    "sts": (0.05, 8, 60, 300),
    "cross": (0.15, 40, 120, 500),
    "judge": (0.10, 300, 200, 1_600),
}


# Probe name -> (true quality of that non-answer, its length in words): the lazy scenarios re-score from these.
PROBES = {"idk": (0.0, 3), "lead": (0.2, 25)}


def build_profile(path: Path, tasks: int = 12, models: dict[str, ModelSpec | tuple] | None = None,
                  seed: int = 7, noiseless: bool = False) -> Path:
    """Write a profile of ``tasks`` QA tasks, every model answering every one, scored by every
    evaluator plus token F1 (as the ground-truth metric, with its cost), and probes.jsonl beside it.

    ``noiseless``: every evaluator scores every output its true quality, so honest evaluators agree."""
    rng = random.Random(seed)
    models = models or MODELS
    records = []
    probes = []
    for t in range(tasks):
        for probe, (truth, words) in PROBES.items():
            scores = {e: min(1.0, max(0.0, truth + rng.gauss(0, 0.0 if noiseless else noise)))
                      for e, (noise, *_) in EVALUATORS.items()}
            scores["token_f1"] = truth
            costs = {e: EvaluatorCost(lat * rng.uniform(0.5, 1.0), tok // 2, mem)
                     for e, (_, lat, tok, mem) in EVALUATORS.items()}
            costs["token_f1"] = EvaluatorCost(0.05, words, 50)
            probes.append(ProbeRecord(task_id=f"q{t:03d}", kind="qa", source="test", probe=probe,
                                      version=PROBES_VERSION, output_tokens=words, scores=scores,
                                      evaluator_costs=costs))
        difficulty = rng.uniform(0.7, 1.1)
        for name, spec in models.items():
            spec = ModelSpec(*spec) if isinstance(spec, tuple) else spec
            truth = min(1.0, max(0.0, spec.quality * difficulty + rng.gauss(0, 0.05)))
            scores = {e: min(1.0, max(0.0, truth + rng.gauss(0, 0.0 if noiseless else noise)))
                      for e, (noise, *_) in EVALUATORS.items()}
            scores["token_f1"] = truth
            costs = {e: EvaluatorCost(lat * rng.uniform(0.8, 1.2), tok, mem)
                     for e, (_, lat, tok, mem) in EVALUATORS.items()}
            costs["token_f1"] = EvaluatorCost(0.05, spec.tokens, 50)
            records.append(ProfileRecord(
                task_id=f"q{t:03d}", kind="qa", source="test", template="qa-v1", model=name,
                output=f"{name} says answer {t} " + "x" * rng.randrange(0, 40),
                latency_ms=spec.latency_ms * rng.uniform(0.8, 1.2), prompt_tokens=80,
                output_tokens=spec.tokens + rng.randrange(0, 5),
                peak_memory_mb=spec.memory_mb * rng.uniform(0.95, 1.05),
                scores=scores, evaluator_costs=costs))
    write_lines(path, records)
    write_lines(path.parent / "probes.jsonl", probes)
    return path


@pytest.fixture
def make_profile(tmp_path: Path):
    """``make_profile(name, tasks=12, models=None)``: a profile file in the test's temporary folder."""
    def make(name: str, tasks: int = 12, models: dict[str, ModelSpec] | None = None, noiseless: bool = False) -> Path:
        return build_profile(tmp_path / name, tasks=tasks, models=models, noiseless=noiseless)
    return make


@pytest.fixture
def profile(make_profile) -> Path:
    return make_profile("records.jsonl")
