"""Cost profiles, suggested cost references, Pearson with its Fisher-z interval (pure logic, no models)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from oracle.pipeline.cost_profile import evaluator_profiles, model_profiles, suggest_cost_model, suggested_params
from oracle.pipeline.eval_report import correlation_rows, pearson
from oracle.pipeline.records import EvaluatorCost, ProfileRecord
from oracle.protocol.params import WAD, Params


def _record(i: int, model: str, latency: float, tokens: int, memory: float, scores: dict) -> ProfileRecord:
    return ProfileRecord(task_id=f"t{i}", kind="qa", source="test", template="qa-v1", model=model, output="x",
                         latency_ms=latency, prompt_tokens=100, output_tokens=tokens, peak_memory_mb=memory,
                         scores=scores, evaluator_costs={"ev": EvaluatorCost(latency / 10, tokens * 3, 300.0)})


def test_pearson_matches_numpy_and_fisher_interval():
    rng = np.random.default_rng(1)
    x = rng.normal(size=50)
    y = x + rng.normal(size=50)
    c = pearson(x, y)
    assert c.r == pytest.approx(np.corrcoef(x, y)[0, 1])
    z, se = math.atanh(c.r), 1 / math.sqrt(47)
    assert (c.lo, c.hi) == pytest.approx((math.tanh(z - 1.959964 * se), math.tanh(z + 1.959964 * se)), abs=1e-6)
    assert c.lo < c.r < c.hi and c.n == 50


def test_pearson_undefined_cases():
    assert math.isnan(pearson([1, 2, 3], [5, 5, 5]).r)  # constant series
    assert math.isnan(pearson([1], [2]).r)
    three = pearson([1, 2, 3], [1, 3, 2])
    assert three.r == pytest.approx(0.5) and math.isnan(three.lo)  # n = 3: no interval


def test_model_and_evaluator_profiles():
    recs = [_record(i, "m", 100.0 * (i + 1), 10, 500.0, {"token_f1": i / 9}) for i in range(10)]
    (p,) = model_profiles(recs)
    assert p.n == 10 and p.latency_median_ms == pytest.approx(550.0)
    assert p.latency_p90_ms == pytest.approx(910.0)
    assert p.answers_per_s == pytest.approx(10 / 5.5)
    assert p.output_tokens_per_s == pytest.approx(100 / 5.5)
    assert p.quality["token_f1"] == pytest.approx(0.5)
    (e,) = evaluator_profiles(recs)
    assert e.n == 10 and e.latency_median_ms == pytest.approx(55.0) and e.tokens_per_s == pytest.approx(300 / 0.55)


def test_suggested_cost_model_spreads_costs_and_is_valid():
    rng = np.random.default_rng(0)
    latency = rng.lognormal(7, 0.8, 300)
    tokens = rng.integers(5, 96, 300)
    memory = np.full(300, 800.0) + rng.normal(0, 5, 300)  # nearly constant on one machine
    m = suggest_cost_model(latency, tokens, memory)
    assert m.ref_latency_ms == math.ceil(np.percentile(latency, 90))
    assert m.w_latency + m.w_tokens + m.w_memory == WAD
    assert m.w_memory < m.w_latency and m.w_memory < m.w_tokens  # a flat measure cannot rank nodes
    Params(inference_cost=m, evaluator_cost=m)  # the contract's own checks accept it
    normalised = np.minimum(latency / m.ref_latency_ms, 1.0)
    assert np.mean(normalised >= 1.0) <= 0.11 and normalised.min() < 0.2  # spread over [0, 1]


def test_suggested_params_and_correlation_rows():
    recs = [_record(i, "m", 100.0 + i, 5 + i, 400.0, {"token_f1": i / 9, "judge": i / 9, "bi": 1 - i / 9})
            for i in range(10)]
    sp = suggested_params(recs)
    assert set(sp) >= {"inference_cost", "evaluator_cost", "basis"}
    assert sum(sp["evaluator_cost"][k] for k in ("w_latency", "w_tokens", "w_memory")) == WAD
    rows = {r["evaluator"]: r for r in correlation_rows(recs)}
    assert rows["bi"]["vs_lexical_r"] == pytest.approx(-1.0) and rows["bi"]["vs_judge_n"] == 10
    assert rows["judge"]["vs_lexical_r"] == pytest.approx(1.0)
