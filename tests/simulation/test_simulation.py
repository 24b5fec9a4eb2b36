"""The Monte Carlo engine: both backends agree to the wei, rewards follow quality and cost,
median aggregation limits a lone booster, draws are reproducible, bad profiles fail clearly."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from oracle.protocol.params import WAD, Aggregation, Params
from oracle.simulation.adversary import Settlements, compare
from oracle.simulation.anvil_backend import AnvilBackend, SimulationMismatch
from oracle.simulation.engine import SimulationConfig, draw_rounds, sim_rounds
from oracle.simulation.record_pool import ProfileError, load_pool
from oracle.simulation.reference_backend import ReferenceBackend
from oracle.simulation.results import print_adversaries
from oracle.simulation.scenarios import scenarios
from oracle.simulation.stats import by_name, node_stats
from poq.commands import simulate as simulate_command


def _params(pool, slots: int = 5, **changes) -> Params:
    base = Params()
    inf, ev = pool.suggested_cost_models(slots, base.inference_cost, base.evaluator_cost)
    return base.with_(inference_cost=inf, evaluator_cost=ev, **changes)


@pytest.mark.parametrize(("scenario", "rounds", "slots"),
                         [("honest", 240, 5), ("never-reveal", 60, 5), ("lazy-node", 60, 5), ("never-reveal", 30, 1)])
def test_anvil_and_reference_pay_the_same_wei_every_round(profile: Path, scenario: str, rounds: int, slots: int):
    pool = load_pool(profile)
    draws = draw_rounds(pool, SimulationConfig(rounds=rounds, slots=slots, seed=11))
    played = sim_rounds(pool, draws, scenarios(pool)[scenario], seed=11)
    params = _params(pool, slots=slots, aggregation=Aggregation.MEDIAN)
    reference = ReferenceBackend().run(played, params)
    # Several blocks' worth of rounds, so rounds from different chunks are covered too.
    backend = AnvilBackend(rounds_per_block=100)
    chain = backend.run(played, params)
    assert len(chain) == len(reference) == rounds
    for k, (c, r) in enumerate(zip(chain, reference, strict=True)):
        assert c == r, f"round {k}"
    assert backend.stats["transactions"] > rounds * 2 * slots  # open, n commits, reveals, K scores each way, settle
    assert all(o.paid + o.refund == 10**18 for o in chain)
    assert sum(p.amount for o in chain for p in o.inference) > 0
    # Exactly the silent slots are slashed, by the full amount (each stays staked above it); no member is:
    # every member committed and revealed.
    for o, r in zip(chain, played, strict=True):
        assert o.slashes == tuple((f"slot-{i}", params.slash_amount) for i, s in enumerate(r.slots) if not s.reveals)
    if scenario == "never-reveal":
        assert sum(len(o.slashes) for o in chain) >= rounds // 3
    if slots == 1:
        # A round whose only node stayed silent draws no committee: nothing paid, the budget refunded.
        empty = [o for o, r in zip(chain, played, strict=True) if not r.revealed]
        assert empty and all(not o.evaluators and o.paid == 0 for o in empty)


def test_scores_reach_the_contract_in_ascending_address_order(profile: Path, monkeypatch):
    """The check can fail: scores sent in slot order, not in the outputs' address order, pay other wei."""
    pool = load_pool(profile)
    played = sim_rounds(pool, draw_rounds(pool, SimulationConfig(rounds=20, seed=2)), scenarios(pool)["honest"], 2)
    params = _params(pool)
    reference = ReferenceBackend().run(played, params)
    # Any order of the accounts settles to the same wei, as long as every score follows its output.
    assert ReferenceBackend(slot_order=[4, 2, 0, 1, 3], member_order=[2, 0, 1]).run(played, params) == reference
    monkeypatch.setattr("oracle.simulation.anvil_backend.chain_scores",
                        lambda r, j, outputs: r.committee[j].scores)
    with pytest.raises(SimulationMismatch, match="rounds settled differently"):
        AnvilBackend().run(played, params)


def test_the_better_cheaper_model_earns_more_and_beta_favours_the_cheaper(make_profile):
    # (quality, latency ms, tokens, memory MB)
    models = {
        "good-cheap": (0.80, 500, 10, 800),
        "poor-costly": (0.50, 3_000, 50, 3_000),
        "good-costly": (0.80, 3_000, 50, 3_000),
    }
    pool = load_pool(make_profile("p.jsonl", tasks=20, models=models))
    draws = draw_rounds(pool, SimulationConfig(rounds=600, slots=3, seed=3))
    played = sim_rounds(pool, draws, scenarios(pool)["honest"], seed=3)

    def rewards(beta: float) -> dict[str, float]:
        params = _params(pool, slots=3, beta_inference=round(beta * WAD))
        return {s.name: s.mean_reward for s in node_stats(played, ReferenceBackend().run(played, params))}

    low, high = rewards(0.1), rewards(0.6)
    assert low["good-cheap"] > low["poor-costly"]
    assert high["good-cheap"] > high["poor-costly"]
    # Equal quality, different cost: beta moves reward toward the cheaper node.
    share_low = low["good-cheap"] / (low["good-cheap"] + low["good-costly"])
    share_high = high["good-cheap"] / (high["good-cheap"] + high["good-costly"])
    assert share_high > share_low > 0.5


def test_median_limits_a_single_boosting_evaluator(profile: Path):
    pool = load_pool(profile)
    draws = draw_rounds(pool, SimulationConfig(rounds=200, committee=3, seed=5))
    catalogue = scenarios(pool)
    adversaries = [s for name, s in catalogue.items() if name != "honest"]
    results = compare(Settlements(pool, draws, 5, ReferenceBackend()), _params(pool), adversaries)
    out = io.StringIO()
    print_adversaries(Console(file=out, width=200), results)
    assert all(name in out.getvalue() for name in catalogue if name != "honest")

    boost = next(r for r in results if r.scenario.name == "boosting-evaluator")
    under_mean, under_median = boost.beneficiary_gain(Aggregation.MEAN), boost.beneficiary_gain(Aggregation.MEDIAN)
    assert under_mean > 0.05
    assert under_median < under_mean / 2
    # Two colluders out of three outvote the honest one even under the median.
    pair = next(r for r in results if r.scenario.name == "colluding-evaluators")
    assert pair.beneficiary_gain(Aggregation.MEDIAN) > under_median
    assert pair.beneficiary_gain(Aggregation.MEAN) > 0.05 and pair.beneficiary_gain(Aggregation.MEDIAN) > 0.05
    # Aggregation does not touch attested costs: a cost cheat gains about as much under either rule.
    cheat = next(r for r in results if r.scenario.name == "cost-underreport")
    gains = cheat.adversary_gain(Aggregation.MEAN), cheat.adversary_gain(Aggregation.MEDIAN)
    assert min(gains) > 0.02 and gains[0] == pytest.approx(gains[1], abs=0.02)
    # The silent node earns nothing and is slashed in every round it plays.
    silent = next(r for r in results if r.scenario.name == "never-reveal")
    node = by_name(silent.attacked[Aggregation.MEAN])[silent.scenario.beneficiary]
    assert node.mean_reward == 0 and node.slashed_eth == pytest.approx(0.5 * node.rounds)


def test_each_scenario_is_built_and_settled_once(profile: Path, monkeypatch):
    pool = load_pool(profile)
    catalogue = scenarios(pool)
    params = _params(pool)
    built, settled = [], []
    monkeypatch.setattr("oracle.simulation.adversary.sim_rounds",
                        lambda pool, draws, scenario, seed: built.append(scenario.name) or [])
    backend = ReferenceBackend()
    monkeypatch.setattr(backend, "run", lambda rounds, params, progress=None: settled.append(params) or [])
    settlements = Settlements(pool, draw_rounds(pool, SimulationConfig(rounds=10)), 0, backend)
    settlements.plays(catalogue["honest"], params)  # the main run
    compare(settlements, params, [catalogue["noisy-evaluator"], catalogue["lazy-node"]])
    settlements.stats(catalogue["honest"], params.with_(beta_inference=params.beta_inference))  # an equal Params
    assert built == ["honest", "noisy-evaluator", "lazy-node"]
    # honest under mean (the main run) is reused; honest under median and both adversaries under both are new.
    assert len(settled) == 1 + 1 + 2 * 2


def test_same_seed_same_rounds(profile: Path):
    pool = load_pool(profile)
    config = SimulationConfig(rounds=50, seed=42)
    first = sim_rounds(pool, draw_rounds(pool, config), scenarios(pool)["noisy-evaluator"], 42)
    again = sim_rounds(pool, draw_rounds(pool, config), scenarios(pool)["noisy-evaluator"], 42)
    other = draw_rounds(pool, SimulationConfig(rounds=50, seed=43))
    assert first == again
    assert other != draw_rounds(pool, config)


def test_models_fill_slots_evenly_beyond_the_model_count(profile: Path):
    pool = load_pool(profile)
    for draw in draw_rounds(pool, SimulationConfig(rounds=100, slots=5, seed=1)):
        counts = sorted(draw.models.count(m) for m in pool.models)
        assert counts == [1, 2, 2]  # 5 slots over 3 models: every model plays, none more than twice
        assert len(set(draw.evaluators)) == 3


def test_bad_profiles_fail_with_the_path_and_the_fix(tmp_path: Path, make_profile):
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(ProfileError, match="nope.jsonl does not exist.*--profile"):
        load_pool(missing)
    bad = make_profile("bad.jsonl", tasks=2)
    with open(bad, "a", encoding="utf-8") as fh:
        fh.write("{not json\n")
    with pytest.raises(ProfileError, match=r"bad.jsonl:7: not a profile record"):
        load_pool(bad)
    record = json.loads((tmp_path / "bad.jsonl").read_text().splitlines()[0])
    record["scores"]["sts"] = 1.5
    (tmp_path / "range.jsonl").write_text(json.dumps(record) + "\n")
    with pytest.raises(ProfileError, match=r"sts=1.5 .* outside \[0, 1\]"):
        load_pool(tmp_path / "range.jsonl")
    with pytest.raises(ProfileError, match="--committee 5: the profile has 4 usable evaluators"):
        draw_rounds(load_pool(make_profile("ok.jsonl", tasks=2)), SimulationConfig(committee=5))


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    simulate_command.register(parser.add_subparsers())
    args = parser.parse_args(["simulate", *argv])
    return args.func(args)


def test_cli_writes_tables_csv_json_and_plots(profile: Path, tmp_path: Path, capsys):
    out = tmp_path / "out"
    assert _cli(["--profile", str(profile), "--rounds", "200", "--scenario", "boosting-evaluator",
                 "--beta-sweep", "--aggregation", "median", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "strong-cheap" in printed and "boosting-evaluator" in printed
    for name in ("nodes.csv", "summary.json", "rewards.png", "comparison.png", "beta_sweep.png", "adversaries.csv"):
        assert (out / name).stat().st_size > 0, name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["params"]["aggregation"] == "median"
    assert {n["name"] for n in summary["nodes"]} >= {"strong-cheap", "middling", "weak-costly", "sts"}
    assert _cli(["--profile", str(tmp_path / "missing.jsonl")]) == 2
    assert "missing.jsonl does not exist" in capsys.readouterr().out


@pytest.mark.parametrize(("scenario", "probe"), [("lazy-node", "idk"), ("copying-node", "lead")])
def test_lazy_and_copying_nodes_are_rescored_from_the_probes(profile: Path, scenario: str, probe: str):
    pool = load_pool(profile)
    catalogue = scenarios(pool)
    adversary = catalogue[scenario].adversaries[0]
    draws = draw_rounds(pool, SimulationConfig(rounds=40, slots=3, seed=5))
    played = sim_rounds(pool, draws, catalogue[scenario], seed=5)
    seen = 0
    for draw, rnd in zip(draws, played, strict=True):
        sent = pool.tasks[draw.task].probes[probe]
        for slot in rnd.slots:
            if slot.model == adversary:
                assert (slot.scores, slot.cost, slot.item_costs) == (sent.scores, sent.cost, sent.evaluator_costs)
                seen += 1
            else:  # honest slots keep their own recorded answer
                assert slot.scores == pool.tasks[draw.task].entries[slot.model].scores
    assert seen > 0


def test_a_profile_without_probes_offers_no_lazy_scenario_and_says_why(profile: Path):
    (profile.parent / "probes.jsonl").unlink()
    pool = load_pool(profile)
    assert not {"lazy-node", "copying-node"} & set(scenarios(pool))
    assert any("probes.jsonl" in note for note in pool.notes)


def test_a_bad_probe_score_names_the_file_the_probe_and_the_fix(profile: Path):
    path = profile.parent / "probes.jsonl"
    lines = path.read_text().splitlines()
    lines[1] = lines[1].replace('"sts": 0', '"sts": 7', 1).replace('"sts": 1', '"sts": 7', 1)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ProfileError, match=r"probes.jsonl line 2: probe .* scores.sts is 7.*re-record"):
        load_pool(profile)


def test_the_default_profile_carries_probes_and_the_lazy_node_is_scored_from_them():
    from oracle.pipeline.eval_run import PROBES
    from oracle.pipeline.probes import PROBES_VERSION
    from oracle.pipeline.records import read_probes
    from oracle.simulation.record_pool import DEFAULT_PROFILE
    from oracle.simulation.scenarios import LAZY_PROBE

    pool = load_pool(DEFAULT_PROFILE)
    probes = list(read_probes(DEFAULT_PROFILE.parent / PROBES))
    assert {p.version for p in probes} == {PROBES_VERSION}
    # One record per (task, probe that applies to it), for every task of the profile, scored by every evaluator.
    recorded = {(p.task_id, p.probe) for p in probes}
    assert len(recorded) == len(probes)
    for task in pool.tasks:
        expected = {"idk", "lead"} | ({"question"} if task.kind == "qa" else set())
        assert set(task.probes) == expected, task.task_id
        for entry in task.probes.values():
            assert set(entry.scores) == set(pool.evaluators) <= set(entry.evaluator_costs)
    assert len(pool.tasks) == 304 and len(probes) == 200 * 3 + 104 * 2  # SQuAD: 3 probes, CNN/DailyMail: 2
    # The lazy node plays the recorded probe, not a bound taken from the other models' answers.
    lazy = scenarios(pool)["lazy-node"]
    draws = draw_rounds(pool, SimulationConfig(rounds=200, slots=5, seed=1))
    played = sim_rounds(pool, draws, lazy, seed=1)
    differs_from_floor = 0
    for draw, rnd in zip(draws, played, strict=True):
        task = pool.tasks[draw.task]
        for slot in rnd.slots:
            if slot.model == lazy.adversaries[0]:
                assert slot.scores == task.probes[LAZY_PROBE].scores
                floor = {e: min(o.scores[e] for o in task.entries.values()) for e in slot.scores}
                differs_from_floor += slot.scores != floor
    assert differs_from_floor > 0
