"""The network model: a population of nodes, a colluding group, and its curves against the analytical draw."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from oracle.protocol.params import Params
from oracle.simulation.population import (
    PopulationError,
    breakdown_fraction,
    build_population,
    collusion_curve,
    majority_probability,
    with_aggregation,
)
from oracle.simulation.record_pool import load_pool


def _params(pool, slots: int) -> Params:
    base = Params()
    inf, ev = pool.suggested_cost_models(slots, base.inference_cost, base.evaluator_cost)
    return base.with_(inference_cost=inf, evaluator_cost=ev)


def test_majority_probability_is_the_hypergeometric_tail():
    assert majority_probability(10, 2, 3) == pytest.approx(8 / 120)  # both colluders and one honest of 8
    assert majority_probability(10, 1, 3) == 0.0  # one colluder never holds 2 of 3 seats
    assert majority_probability(10, 10, 3) == 1.0
    assert majority_probability(20, 10, 5) == pytest.approx(0.5)  # symmetric: half the nodes collude, K odd
    # Against a brute-force count of every committee.
    from itertools import combinations

    committees = list(combinations(range(9), 5))
    assert majority_probability(9, 4, 5) == pytest.approx(sum(sum(m < 4 for m in c) >= 3 for c in committees)
                                                          / len(committees))


@pytest.mark.parametrize("rule", ["mean", "median"])
def test_the_measured_majority_follows_the_analytical_draw_and_colluders_gain(profile: Path, rule: str):
    pool = load_pool(profile)
    rounds = 2000
    points = collusion_curve(pool, with_aggregation(_params(pool, 3), rule), inference=4, evaluators=20, slots=3,
                             committee=3, fractions=[0.0, 0.1, 0.3, 0.5], rounds=rounds, seed=2)
    honest = points[0]
    assert (honest.partner_gain, honest.worst_honest_loss, honest.majority_measured) == (0.0, 0.0, 0.0)
    for p in points:
        se = math.sqrt(p.majority_analytical * (1 - p.majority_analytical) / rounds)
        assert abs(p.majority_measured - p.majority_analytical) <= 4 * se + 1e-12, p
    gains = [p.partner_gain for p in points]
    assert gains == sorted(gains) and gains[-1] > 0.05  # more colluders, more gain
    assert all(p.worst_honest_loss <= 0.0 for p in points)
    assert breakdown_fraction(points) is not None


def test_the_medians_breakdown_for_k3_lies_where_the_analytical_majority_probability_puts_it(make_profile):
    """With honest evaluators that agree, a lone colluder cannot move a median of three: the partner gains only in
    rounds whose committee the colluders hold a majority of. So its expected gain at f is
    ``majority_probability(M, C, 3)`` times the lift a colluding majority gives (its reward at quality 1 less its
    honest reward, over the rounds it plays), and the breakdown fraction f* is the first f where that product
    passes the tolerance. Both are checked against the measured curve, within its sampling error."""
    from oracle.protocol.params import WAD
    from oracle.protocol.reward import linear_reward, normalised_cost
    from oracle.simulation.population import TOLERANCE, build_population, draw, play

    pool = load_pool(make_profile("agree.jsonl", noiseless=True))
    params = with_aggregation(_params(pool, 3), "median")
    rounds, m, fractions = 3000, 20, [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]
    points = collusion_curve(pool, params, inference=4, evaluators=m, slots=3, committee=3, fractions=fractions,
                             rounds=rounds, seed=5)
    honest = play(pool, build_population(pool, 4, m, 0.0, seed=5), draw(pool, 4, m, 3, 3, rounds, seed=5))
    partner = build_population(pool, 4, m, 0.0, seed=5).partner.name
    lifts = []
    for r in honest:
        for s in r.slots:
            if s.model == partner:
                quality = r.committee[0].scores[r.revealed.index(r.slots.index(s))]
                cost = normalised_cost(s.cost, params.inference_cost)
                lifts.append((linear_reward(params.alpha_inference, WAD, params.beta_inference, cost)
                              - linear_reward(params.alpha_inference, quality, params.beta_inference, cost)) / WAD)
    lift = sum(lifts) / len(lifts)
    assert lift > 0.1  # the weakest model has room to be lifted
    predicted = [p.majority_analytical * lift for p in points]
    for p, want in zip(points, predicted, strict=True):
        se = p.partner_ci / 1.96
        assert abs(p.partner_gain - want) <= 4 * se + 1e-9, (p, want)
    # The breakdown rule applied to the analytical curve, with the measured points' sampling error.
    expected_star = next(p.fraction for p, want in zip(points, predicted, strict=True)
                         if want - p.partner_ci > TOLERANCE)
    assert breakdown_fraction(points) == expected_star == 0.2


def test_under_median_a_lone_colluder_per_committee_gains_less_than_under_mean(profile: Path):
    pool = load_pool(profile)
    params = _params(pool, 3)
    # M = 10, f = 0.1: one colluder, so never a majority of K = 3.
    mean, median = (collusion_curve(pool, with_aggregation(params, rule), inference=4, evaluators=10, slots=3,
                                    committee=3, fractions=[0.1], rounds=2000, seed=4)[0]
                    for rule in ("mean", "median"))
    assert mean.majority_measured == median.majority_measured == 0.0
    assert 0.0 <= median.partner_gain < mean.partner_gain


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"fractions": [1.5]}, r"colluding fraction f=1\.5 is outside \[0, 1\]"),
    ({"fractions": [-0.1]}, r"colluding fraction f=-0\.1 is outside \[0, 1\]"),
    ({"fractions": [float("nan")]}, r"colluding fraction f=nan is outside \[0, 1\]"),
    ({"fractions": []}, r"the curve has no points"),
    ({"committee": 11}, r"K=11 exceeds the M=10 evaluator nodes: give K <= M"),
    ({"slots": 5}, r"n=5 slots exceed the N=4 inference nodes: give n <= N"),
    ({"fractions": [1.0]}, r"f=1\.0 makes all 10 evaluator nodes collude: .* give f < 1"),
])
def test_bad_population_input_names_the_value_and_the_fix(profile: Path, kwargs, message):
    pool = load_pool(profile)
    args = {"inference": 4, "evaluators": 10, "slots": 3, "committee": 3, "fractions": [0.2], "rounds": 10}
    with pytest.raises(PopulationError, match=message):
        collusion_curve(pool, _params(pool, 3), **{**args, **kwargs})


def test_the_colluders_are_spread_over_the_evaluator_kinds_and_node_0_plays_the_weakest_model(profile: Path):
    pool = load_pool(profile)
    population = build_population(pool, inference=6, evaluators=30, colluding=0.5, seed=1)
    assert population.partner.identity == min(pool.models, key=pool.mean_score)
    colluders = [e for e in population.evaluators if e.behaviour == "collude"]
    assert len(colluders) == 15 and {e.identity for e in colluders} == set(pool.evaluators)
    with pytest.raises(PopulationError, match="unknown aggregation 'trimmed'"):
        with_aggregation(Params(), "trimmed")


def test_poq_collusion_writes_the_curves_and_refuses_bad_fractions(profile: Path, tmp_path: Path, capsys):
    import csv

    from poq.main import main

    out = tmp_path / "curves"
    assert main(["collusion", "--profile", str(profile), "--inference", "4", "--evaluators", "10", "--slots", "3",
                 "--committees", "3", "--fractions", "0,0.2", "--rounds", "50", "--out", str(out)]) == 0
    with open(out / "collusion.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["aggregation"], r["committee"], r["fraction"]) for r in rows] == [
        ("mean", "3", "0.0"), ("mean", "3", "0.2"), ("median", "3", "0.0"), ("median", "3", "0.2")]
    assert (out / "collusion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(out.glob("*.tmp*"))
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["collusion", "--profile", str(profile), "--fractions", "0,1.5", "--out", str(tmp_path / "x")])
    assert "argument --fractions: '0,1.5': colluding fractions must be numbers in [0, 1]" in capsys.readouterr().err
    assert main(["collusion", "--profile", str(profile), "--evaluators", "2", "--committees", "3",
                 "--out", str(tmp_path / "y")]) == 2
    assert "K=3 exceeds the M=2 evaluator nodes: give K <= M" in capsys.readouterr().err
