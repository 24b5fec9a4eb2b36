"""A population on the protocol's own terms: the contract draws every committee, stakes evolve, both backends agree.

The Anvil tests play a small synthetic population on the real contract, where
every node is its own account: a silent inference node and an absent evaluator
are slashed until they drop out, one evaluator stakes three times the others,
one joins and one leaves mid-run. The contract draws the committees; the
reference predicts them from the same salts and settles every round with the
stakes the slashes left.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from oracle.protocol.params import Params
from oracle.simulation.anvil_backend import SimulationMismatch
from oracle.simulation.anvil_network import AnvilNetwork
from oracle.simulation.network import Network, NetworkConfig, run_reference
from oracle.simulation.population import Population, PopulationError, build_population
from oracle.simulation.record_pool import load_pool
from oracle.simulation.types import RoundOutcome

CONFIG = NetworkConfig(rounds=60, slots=3, committee=3, epoch=20, seed=3)


def _params(pool) -> Params:
    base = Params()
    inf, ev = pool.suggested_cost_models(3, base.inference_cost, base.evaluator_cost)
    return base.with_(inference_cost=inf, evaluator_cost=ev)


def _hostile(pool, params: Params) -> Population:
    """5 inference and 8 evaluator nodes, two colluding, with every kind of per-node state the network keeps."""
    pop = build_population(pool, 5, 8, 0.25, seed=1)
    inference, evaluators = list(pop.inference), list(pop.evaluators)
    inference[4] = replace(inference[4], behaviour="silent", stake=2 * params.min_stake)
    evaluators[1] = replace(evaluators[1], behaviour="absent")
    evaluators[2] = replace(evaluators[2], stake=3 * params.min_stake)
    evaluators[6] = replace(evaluators[6], leaves=45)
    evaluators[7] = replace(evaluators[7], joins=30)
    return Population(tuple(inference), tuple(evaluators))


def _refuser(pool, params: Params):
    """``refused(population, match, **config)``: playing it raises a PopulationError matching ``match``."""
    def refused(population: Population, match: str, **config) -> None:
        with pytest.raises(PopulationError, match=match):
            run_reference(pool, population, params, replace(CONFIG, **config))
    return refused


def _drawn_in(committees, rounds) -> set[str]:
    return {m for k in rounds for m in committees[k]}


def test_both_backends_agree_to_the_wei_with_committees_the_contract_draws(profile: Path):
    pool = load_pool(profile)
    params = _params(pool)
    population = _hostile(pool, params)
    reference = run_reference(pool, population, params, CONFIG)
    chain = AnvilNetwork().run(pool, population, params, CONFIG)
    assert chain.committees == reference.committees
    assert chain.outcomes == reference.outcomes
    assert chain.stakes == reference.stakes

    # The state evolved as the protocol says, and the draw followed it.
    stakes, committees = reference.stakes, reference.committees
    assert stakes["inference-004"] < params.min_stake and stakes["evaluator-001"] < params.min_stake
    last_epoch = range(40, 60)
    assert all(s.model != "inference-004" for k in last_epoch for s in reference.rounds[k].slots)
    assert "evaluator-001" not in _drawn_in(committees, last_epoch)
    assert "evaluator-007" not in _drawn_in(committees, range(30)) and "evaluator-007" in _drawn_in(committees,
                                                                                                   range(30, 60))
    assert "evaluator-006" in _drawn_in(committees, range(45)) and "evaluator-006" not in _drawn_in(committees,
                                                                                                   range(45, 60))
    seats = {e.name: sum(e.name in c for c in committees) for e in population.evaluators}
    assert max(seats, key=seats.__getitem__) == "evaluator-002"  # three times the stake
    slashed = {name for o in reference.outcomes for name, _ in o.slashes}
    assert slashed == {"inference-004", "evaluator-001"}


def test_the_anvil_check_catches_a_wrong_draw_and_a_wrong_wei(profile: Path, monkeypatch: pytest.MonkeyPatch):
    pool = load_pool(profile)
    params = _params(pool)
    population = _hostile(pool, params)
    config = replace(CONFIG, rounds=20)
    drawn = Network.predicted_committee
    monkeypatch.setattr(Network, "predicted_committee", lambda self, plan: tuple(reversed(drawn(self, plan))))
    with pytest.raises(SimulationMismatch, match="the contract drew"):
        AnvilNetwork().run(pool, population, params, config)
    monkeypatch.setattr(Network, "predicted_committee", drawn)
    settled = Network.settle

    def one_wei_off(self: Network, r) -> RoundOutcome:
        o = settled(self, r)
        return replace(o, refund=o.refund + 1) if r.index == 7 else o

    monkeypatch.setattr(Network, "settle", one_wei_off)
    with pytest.raises(SimulationMismatch, match="round 7"):
        AnvilNetwork().run(pool, population, params, config)


@pytest.mark.parametrize("how", ["salts", "seeded"])
def test_the_draw_weighs_stake(profile: Path, how: str):
    """One evaluator of four stakes 3 of the 6 units staked: it takes a lone seat half the time, by either draw."""
    pool = load_pool(profile)
    params = _params(pool)
    pop = build_population(pool, 3, 4, 0.0)
    heavy = replace(pop.evaluators[0], stake=3 * params.min_stake)
    population = Population(pop.inference, (heavy, *pop.evaluators[1:]))
    rounds = 3_000
    run = run_reference(pool, population, params, NetworkConfig(rounds=rounds, slots=2, committee=1, draw=how))
    share = sum(c == (heavy.name,) for c in run.committees) / rounds
    assert abs(share - 0.5) <= 4 * (0.25 / rounds) ** 0.5, share


def test_bad_populations_are_refused_with_the_fix(profile: Path):
    pool = load_pool(profile)
    params = _params(pool)
    pop = build_population(pool, 3, 4, 0.0)
    refused = _refuser(pool, params)

    odd = (replace(pop.evaluators[0], behaviour="bribe"), *pop.evaluators[1:])
    refused(Population(pop.inference, odd), "unknown behaviour 'bribe': give one of honest, collude, absent")
    lazy = tuple(replace(e, behaviour="collude") for e in pop.evaluators)
    refused(Population(pop.inference, lazy), "no honest node among the 4 evaluator nodes")
    refused(pop, "4 evaluator nodes are drawable .* for K=5", committee=5)
    refused(pop, "3 inference nodes can commit .* for n=4", slots=4)
    refused(pop, "unknown draw 'fast'", draw="fast")
    poor = (replace(pop.evaluators[0], stake=params.min_stake - 1), *pop.evaluators[1:])
    refused(Population(pop.inference, poor), r"stakes 999999999999999999 wei, outside \[min_stake")
    # Every evaluator absent but one, K = 2: once the absent ones are slashed out, too few are drawable.
    absent = (pop.evaluators[0], *(replace(e, behaviour="absent") for e in pop.evaluators[1:]))
    refused(Population(pop.inference, absent), "round 20: 1 evaluator nodes are drawable", committee=2)
    with pytest.raises(PopulationError, match="give draw='salts'"):
        AnvilNetwork().run(pool, pop, params, replace(CONFIG, draw="seeded"))



def test_poq_network_plays_on_the_contract_and_reports_every_node(profile: Path, tmp_path: Path, capsys):
    import csv

    from poq.main import main

    out = tmp_path / "net"
    argv = ["network", "--profile", str(profile), "--inference", "4", "--evaluators", "6", "--rounds", "40",
            "--epoch", "20", "--silent", "1", "--absent", "1", "--colluding", "0.34"]
    assert main([*argv, "--backend", "anvil", "--out", str(out)]) == 0
    assert "paid what the reference model pays, to the wei" in " ".join(capsys.readouterr().out.split())
    with open(out / "network_nodes.csv") as fh:
        rows = {r["name"]: r for r in csv.DictReader(fh)}
    assert len(rows) == 10 and (out / "stakes.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert rows["inference-003"]["behaviour"] == "silent" and int(rows["inference-003"]["slashed_wei"]) > 0
    assert sum(r["behaviour"] == "collude" for r in rows.values()) == 2
    assert [r["name"] for r in rows.values() if r["behaviour"] == "absent"] == ["evaluator-005"]
    assert main([*argv, "--out", str(tmp_path / "ref")]) == 0  # the reference pays every node the same
    with open(tmp_path / "ref" / "network_nodes.csv") as fh:
        assert {r["name"]: r for r in csv.DictReader(fh)} == rows
    capsys.readouterr()
    assert main([*argv[:-4], "--silent", "4", "--out", str(tmp_path / "x")]) == 2
    assert "--silent 4 leaves no honest inference node among N=4" in capsys.readouterr().err
    assert main([*argv[:-2], "--absent", "4", "--colluding", "0.34", "--out", str(tmp_path / "x")]) == 2
    assert "--absent 4: only 4 evaluators are honest" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_an_accomplice_grinds_the_contracts_committee_seed_exactly_as_the_model_says(profile: Path):
    """The last revealer knows both committees: the contract lets it pick by withholding, at the slash's price."""
    pool = load_pool(profile)
    params = _params(pool).with_(slash_amount=10**15)  # 0.001 ETH: cheap enough to pay
    base = build_population(pool, 5, 8, 0.375, seed=1)
    accomplice = replace(base.inference[1], stake=40 * params.min_stake)
    grinding = Population((base.inference[0], replace(accomplice, behaviour="grind"), *base.inference[2:]),
                          base.evaluators)
    honest = Population((base.inference[0], accomplice, *base.inference[2:]), base.evaluators)
    config = replace(CONFIG, rounds=100)
    reference = run_reference(pool, grinding, params, config)
    chain = AnvilNetwork().run(pool, grinding, params, config)
    assert (chain.committees, chain.outcomes) == (reference.committees, reference.outcomes)
    withheld = [k for k, o in enumerate(reference.outcomes) if any(n == accomplice.name for n, _ in o.slashes)]
    assert len(withheld) >= 5
    plain = run_reference(pool, honest, params, config)
    assert all(plain.committees[k] != reference.committees[k] for k in withheld)  # each withholding redrew

    def partner_wei(run) -> int:
        return sum(p.amount for o in run.outcomes for p in o.inference if p.index == 0)

    assert partner_wei(reference) > partner_wei(plain)


def test_the_contracts_limits_and_ambiguous_nodes_are_refused_before_any_round(profile: Path):
    """What the contract would revert on, or what would mix two nodes' payouts, fails first, naming the fix."""
    from oracle.protocol.params import MAX_COMMITTEE, MAX_EVALUATORS, MAX_SLOTS, UINT96_MAX

    pool = load_pool(profile)
    params = _params(pool)
    pop = build_population(pool, 3, 4, 0.0)
    refused = _refuser(pool, params)

    first, *rest = pop.evaluators
    refused(Population(pop.inference, (first, first, *rest)), "nodes evaluator-000 appear twice")
    refused(Population(pop.inference, (replace(first, name="alice"), *rest)), "node name 'alice'")
    refused(Population(pop.inference, (replace(first, name="judge-1"), *rest)),
            "nodes judge-1 and evaluator-001 share the number 1")
    refused(Population(pop.inference, (replace(first, stake=UINT96_MAX + 1), *rest)), r"outside \[min_stake")
    refused(Population(pop.inference, (replace(first, joins=20, leaves=20), *rest)), "give 0 <= joins < leaves")
    refused(pop, f"the contract takes 1 to {MAX_SLOTS} slots", slots=MAX_SLOTS + 1)
    refused(pop, f"committees of 1 to {MAX_COMMITTEE}", committee=MAX_COMMITTEE + 1)
    many = build_population(pool, 3, MAX_EVALUATORS + 1, 0.0)
    refused(many, f"M={MAX_EVALUATORS + 1}: the contract's evaluator set holds at most {MAX_EVALUATORS}")


def test_only_the_chain_needs_score_windows_in_order_and_the_profile_backends_refuse_absent_members(profile: Path):
    """A score-commit window longer than the reveal window strands the chain's rounds, not the model's; and the
    profile-level backends, which seat every member, refuse a member that never commits instead of paying it."""
    from oracle.simulation.reference_backend import ReferenceBackend

    pool = load_pool(profile)
    params = _params(pool).with_(score_commit_window=21, score_reveal_window=20)
    pop = build_population(pool, 3, 4, 0.0)
    config = replace(CONFIG, rounds=10)
    assert len(run_reference(pool, pop, params, config).outcomes) == 10
    with pytest.raises(PopulationError, match="score_commit_window=21 > score_reveal_window=20: on chain"):
        AnvilNetwork().run(pool, pop, params, config)
    absent = run_reference(pool, Population(pop.inference, (replace(pop.evaluators[0], behaviour="absent"),
                                                             *pop.evaluators[1:])), _params(pool), config)
    rounds = [r for r in absent.rounds if not all(m.commits for m in r.committee)]
    assert rounds
    with pytest.raises(ValueError, match="an absent member: the profile-level backends seat every member"):
        ReferenceBackend().run(rounds[:1], _params(pool))
