"""The incentive check on a small synthetic profile: which deviations pay today, and what would stop them."""

from __future__ import annotations

from pathlib import Path

from oracle.protocol.params import Params
from oracle.simulation.adversary import Settlements
from oracle.simulation.engine import SimulationConfig, draw_rounds
from oracle.simulation.incentives import FACTORS, check, deviations
from oracle.simulation.record_pool import load_pool
from oracle.simulation.reference_backend import ReferenceBackend


def _table(profile: Path, rounds: int = 300):
    pool = load_pool(profile)
    base = Params()
    inf, ev = pool.suggested_cost_models(3, base.inference_cost, base.evaluator_cost)
    params = base.with_(inference_cost=inf, evaluator_cost=ev)
    settlements = Settlements(pool, draw_rounds(pool, SimulationConfig(rounds=rounds, slots=3, seed=3)), 3,
                              ReferenceBackend())
    return pool, check(settlements, params)


def test_every_deviation_is_checked_cost_cheating_pays_never_revealing_loses_and_the_levers_are_named(
        profile: Path):
    # One table (it settles 24 runs) for every assertion below.
    pool, rows = _table(profile)
    names = [d.name for d in deviations(pool)]
    assert [(r.deviation, r.rule) for r in rows] == [(n, rule) for n in names for rule in ("mean", "median")]
    assert {"lazy-node", "copying-node", "copying-evaluator", "colluding-evaluators"} <= set(names)
    cheat = {r.deviation: r for r in rows if r.rule == "mean" and r.deviation.startswith("cost-underreport")}
    gains = [cheat[f"cost-underreport-x{k}"].gain for k in FACTORS]
    assert all(g > 0 for g in gains) and gains == sorted(gains)  # today's contract pays for lying about cost
    worst = cheat[f"cost-underreport-x{FACTORS[-1]}"]
    assert worst.pays and worst.lever.startswith("an audit of attested costs")
    assert worst.break_even == f"audit probability x penalty >= {worst.gain:.3f} (in round rewards)"

    by = {(r.deviation, r.rule): r for r in rows}
    silent = by["never-reveal", "mean"]
    assert silent.gain < 0 and not silent.pays and silent.lever == "the slash"
    lazy = by["lazy-node", "mean"]
    assert lazy.lever.startswith("a quality floor")
    assert lazy.break_even.startswith("quality floor F >= ") or lazy.break_even in ("no floor up to 1.0",
                                                                                        "none needed: it loses already")
    assert (lazy.break_even == "none needed: it loses already") == (lazy.gain <= 0)
    booster = by["boosting-evaluator", "mean"]
    assert booster.gainers[-1] == "weak-costly" and len(booster.gainers) == 2  # the evaluator and its partner


def test_poq_incentives_writes_the_table_and_the_plot(profile: Path, tmp_path: Path):
    import csv

    from poq.main import main

    out = tmp_path / "inc"
    assert main(["incentives", "--profile", str(profile), "--rounds", "100", "--slots", "3",
                 "--out", str(out)]) == 0
    with open(out / "incentives.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["deviation"] for r in rows} >= {"cost-underreport-x2", "lazy-node", "copying-evaluator"}
    assert {r["rule"] for r in rows} == {"mean", "median"} and all(r["pays"] in ("True", "False") for r in rows)
    assert (out / "incentives.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_each_deviation_is_settled_once_per_rule(profile: Path):
    # The quality floor of the lazy and copying nodes replays their plays; it must not settle them again
    # (it did: 8 extra settlements on this profile).
    pool = load_pool(profile)
    backend = ReferenceBackend()
    settled = []
    real = backend.run
    backend.run = lambda rounds, params, progress=None: settled.append(params) or real(rounds, params, progress)
    check(Settlements(pool, draw_rounds(pool, SimulationConfig(rounds=50, slots=3)), 0, backend),
          pool.default_params(3))
    assert len(settled) == 2 * (1 + len(deviations(pool)))  # honest and every deviation, under mean and median


def test_in_a_network_cost_cheating_pays_collusion_lifts_the_partner_and_silence_loses(profile: Path):
    """The deviations played by nodes among many (issue 15's setting): 10 evaluator nodes, two of them colluding."""
    from oracle.simulation.network_incentives import check_network

    pool = load_pool(profile)
    params = pool.default_params(3)
    rows = check_network(pool, params, inference=4, evaluators=10, slots=3, committee=3, rounds=1500, seed=2)
    by = {(r.deviation, r.rule): r for r in rows}
    assert {d for d, _ in by} == {d.name for d in deviations(pool)} and {r for _, r in by} == {"mean", "median"}
    for rule in ("mean", "median"):
        assert by["cost-underreport-x4", rule].pays and by["cost-underreport-x4", rule].gainers == ("inference-000",)
        assert by["never-reveal", rule].gain < 0
        collusion = by["colluding-evaluators", rule]
        assert collusion.gainers == ("evaluator-000", "evaluator-001", "inference-000")
        assert collusion.partner_gain is not None and collusion.partner_gain > 0
        assert by["sabotaging-evaluator", rule].worst_honest_loss < 0  # its rival loses
    # Under the median, one booster among three moves its partner far less than under the mean.
    assert by["boosting-evaluator", "median"].partner_gain < by["boosting-evaluator", "mean"].partner_gain


def test_poq_incentives_network_writes_its_table_and_checks_sizes_first(profile: Path, tmp_path: Path, capsys):
    import csv

    from poq.main import main

    out = tmp_path / "inc"
    argv = ["incentives", "--profile", str(profile), "--rounds", "60", "--slots", "3", "--network"]
    assert main([*argv, "--out", str(out)]) == 0
    with open(out / "incentives_network.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["rule"] for r in rows} == {"mean", "median"} and "worst_honest_loss" in rows[0]
    with open(out / "targets.csv") as fh:
        assert {r["rule"] for r in csv.DictReader(fh)} == {"mean", "median"}
    capsys.readouterr()
    assert main([*argv, "--evaluators", "2", "--out", str(tmp_path / "x")]) == 2
    assert "--committee 3 exceeds --evaluators 2: give K <= M" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_issue_15s_targets_are_judged_per_rule_and_todays_contract_misses_the_cost_one(profile: Path):
    from oracle.simulation.network_incentives import NetworkIncentive, check_network
    from oracle.simulation.targets import judge

    pool = load_pool(profile)
    rows = check_network(pool, pool.default_params(3), inference=4, evaluators=10, slots=3, committee=3,
                         rounds=800, seed=2)
    targets = {(t.target, t.rule): t for t in judge(rows)}
    for rule in ("mean", "median"):
        assert not targets["cost under-reporting gains at most 0", rule].met
    # The judge itself, on rows made to sit on either side of each bound.
    def row(deviation: str, gain: float, ci: float = 0.0, partner: float | None = None, worst: float = 0.0):
        return NetworkIncentive(deviation, "", (), "mean", gain, ci, partner, worst)

    judged = {t.target: t.met for t in judge([
        row("cost-underreport-x2", 0.004, 0.005), row("cost-underreport-x4", -0.01),
        row("lazy-node", -0.01, 0.02), row("boosting-evaluator", -0.1, 0.0, 0.011),
        row("sabotaging-evaluator", -0.1, worst=-0.009), row("noisy-evaluator", -0.05, 0.01)])}
    assert judged == {"cost under-reporting gains at most 0": True,
                      "a lazy answer earns less than the weakest model's": False,
                      "boosting-evaluator: partner gains <= 0.01, no honest loss > 0.01": False,
                      "sabotaging-evaluator: partner gains <= 0.01, no honest loss > 0.01": True,
                      "noisy-evaluator is paid less than honest play": True}
