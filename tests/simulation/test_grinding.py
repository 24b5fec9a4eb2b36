"""Grinding the committee seed: the colluders' accomplice withholds its reveal when the redraw pays, and the slash
that stops it."""

from __future__ import annotations

from pathlib import Path

import pytest

from oracle.protocol.params import Params
from oracle.simulation.grinding import break_even, grinding
from oracle.simulation.population import PopulationError, with_aggregation
from oracle.simulation.record_pool import load_pool

ETH = 10**18


def _params(pool) -> Params:
    base = Params()
    inf, ev = pool.suggested_cost_models(3, base.inference_cost, base.evaluator_cost)
    return with_aggregation(base.with_(inference_cost=inf, evaluator_cost=ev), "median")


def test_grinding_pays_under_a_small_slash_and_stops_at_a_large_one(profile: Path):
    pool = load_pool(profile)
    slashes = [0, ETH // 100, ETH // 20, ETH // 10, ETH]
    points = grinding(pool, _params(pool), inference=4, evaluators=12, slots=3, committee=3, fraction=0.25,
                      slashes=slashes, rounds=1500, seed=1)
    free = points[0]
    assert free.withheld > 50 and free.coalition_gain - free.coalition_ci > 0  # a free redraw pays
    assert free.partner_gain > 0 > free.accomplice_change
    gains = [p.coalition_gain for p in points]
    assert all(a >= b - 1e-12 for a, b in zip(gains, gains[1:], strict=False))  # a dearer slash, less gain
    whole = points[-1]  # a slash of a whole stake is more than any redraw can lift a slot's payout
    assert (whole.withheld, whole.coalition_gain, whole.partner_gain) == (0, 0.0, 0.0)
    assert all(p.coalition_gain >= -1e-12 for p in points)  # it withholds only when that pays
    assert break_even(points) in slashes[1:]


def test_grinding_refuses_a_population_without_an_accomplice(profile: Path):
    pool = load_pool(profile)
    with pytest.raises(PopulationError, match="needs the partner and an accomplice: give N >= 2"):
        grinding(pool, _params(pool), inference=1, evaluators=6, slots=1, committee=3, fraction=0.2, slashes=[0],
                 rounds=10)
    with pytest.raises(PopulationError, match="no slash amounts"):
        grinding(pool, _params(pool), inference=3, evaluators=6, slots=2, committee=3, fraction=0.2, slashes=[],
                 rounds=10)
