"""Governance: only the owner sets parameters, nonsense is refused (by the contract and by ``Params``
alike), and a round keeps the parameter set it opened with."""

from __future__ import annotations

import dataclasses
import re
from types import SimpleNamespace

import pytest

from oracle.chain.client import TaskSpec
from oracle.protocol.params import MAX_UNBONDING, MAX_WINDOW, WAD, Aggregation, Params, Role, Stage

from .harness import check_settled, fast_reverts_with, reverts_with

ETH = 10**18


def raw_params(params: Params, **changes) -> tuple:
    """The contract tuple of ``params`` with ``changes``, skipping the Python validation on purpose."""
    fields = {f.name: getattr(params, f.name) for f in dataclasses.fields(params)}
    for name, value in changes.items():
        if "." in name:
            model, field = name.split(".")
            fields[model] = dataclasses.replace(fields[model], **{field: value})
        else:
            fields[name] = value
    return Params.as_contract_tuple(SimpleNamespace(**fields))


def test_owner_sets_params_for_new_rounds_only(poq, client, open_round, owner, params):
    before = open_round()
    new = params.with_(alpha_inference=WAD // 2, aggregation=Aggregation.MEDIAN, commit_window=7)
    tx = poq.setParams(new.as_contract_tuple(), sender=owner)
    assert [e.version for e in tx.events.filter(poq.ParamsUpdated)] == [2]
    assert poq.paramsVersion() == 2
    assert tuple(poq.params(2)) == new.as_contract_tuple()
    after = open_round()
    assert client.round(before.rid)["params_version"] == 1
    r = client.round(after.rid)
    assert r["params_version"] == 2
    assert r["stage"] == Stage.COMMIT


def test_only_owner_sets_params(poq, client, outsider, params):
    with reverts_with("OwnableUnauthorizedAccount", account=outsider.address):
        poq.setParams(params.as_contract_tuple(), sender=outsider)


def test_ownership_cannot_be_renounced(poq, client, owner, outsider):
    """Slashes are credited to the owner, so the contract always keeps one (v1 let the owner renounce,
    and slashes went to address(0))."""
    with reverts_with("RenounceDisabled"):
        poq.renounceOwnership.transact(sender=owner)
    with reverts_with("OwnableUnauthorizedAccount", account=outsider.address):
        poq.renounceOwnership.transact(sender=outsider)
    assert poq.owner() == owner.address
    assert (poq.MAX_WINDOW(), poq.MAX_UNBONDING()) == (MAX_WINDOW, MAX_UNBONDING)


def test_the_longest_windows_are_accepted(poq, client, owner, params):
    longest = params.with_(commit_window=MAX_WINDOW, reveal_window=MAX_WINDOW, reference_window=MAX_WINDOW,
                           score_commit_window=MAX_WINDOW, score_reveal_window=MAX_WINDOW,
                           unbonding_blocks=MAX_UNBONDING)
    client.transact(owner, "setParams", longest.as_contract_tuple())
    assert Params.from_contract_tuple(client.view("params", 2)) == longest


def test_a_round_keeps_every_parameter_it_opened_with(poq, client, open_round, owner, requester, params,
                                                      inference_nodes, evaluators):
    """A parameter change mid-round (v1 read minStake and the windows from the current set) reaches
    nothing of a round in flight: its stake floor, windows, committee draw, slash and rewards stay v1's."""
    play = open_round(slots=2, committee_size=2)
    changed = params.with_(min_stake=2 * ETH, slash_amount=2 * ETH, commit_window=3, reveal_window=3,
                           score_commit_window=3, score_reveal_window=3, alpha_inference=WAD // 3,
                           beta_inference=0, alpha_evaluator=WAD // 5, min_budget=ETH)
    client.transact(owner, "setParams", changed.as_contract_tuple())
    silent, node = inference_nodes[:2]
    play.commit(silent)  # 1 ETH staked: enough for the v1 round, not for a v2 one
    play.commit(node)
    play.reveal(node)
    r = client.round(play.rid)
    assert r["deadline"] - client.block_number() > changed.reveal_window  # v1's window
    play.advance_to(Stage.SCORE_COMMIT)
    members = [e for e in evaluators if e.address in play.committee()]
    assert len(members) == 2  # drawn under v1's 1 ETH floor, though v2 asks 2 ETH
    for m in members:
        play.commit_scores(m, [WAD * 3 // 4])
    for m in members:
        play.reveal_scores(m)
    stakes = client.stakes([n.address for n in inference_nodes + evaluators])
    play.settle()
    settled, _ = check_settled(client, play.rid, stakes, play.opened_block)  # with v1's parameters
    assert settled.slashes == ((silent.address, params.slash_amount),)
    assert client.node(silent.address)["stake"] == params.min_stake - params.slash_amount
    # A round opened now gets the new set, and its floor.
    spec = TaskSpec(b"\x01" * 32, "data:,", "qa", 1, 1)
    with fast_reverts_with(client, "BudgetTooLow", budget=ETH - 1, minBudget=ETH):
        client.transact(requester, "openRound", spec.as_tuple(2), value=ETH - 1)
    later = open_round(slots=1, committee_size=1, budget=ETH)
    assert client.round(later.rid)["params_version"] == 2
    assert client.view("drawWeight", later.rid, members[0].address) == 0  # 1 ETH < v2's 2 ETH floor
    assert client.node(node.address)["role"] == Role.INFERENCE


BAD = [
    ("ParamAboveWad", {"alpha_inference": WAD + 1}, {"name": "alphaInference", "value": WAD + 1}),
    ("ParamAboveWad", {"beta_evaluator": 2 * WAD}, {"name": "betaEvaluator", "value": 2 * WAD}),
    ("ParamAboveWad", {"inference_share": WAD + 1}, {"name": "inferenceShare"}),
    ("WeightsNotWad", {"inference_cost.w_latency": 0}, {"name": "inferenceCost", "sum": WAD // 2}),
    ("WeightsNotWad", {"evaluator_cost.w_memory": WAD}, {"name": "evaluatorCost"}),
    ("ZeroParam", {"inference_cost.ref_latency_ms": 0}, {"name": "inferenceCost"}),
    ("ZeroParam", {"evaluator_cost.ref_tokens": 0}, {"name": "evaluatorCost"}),
    ("ZeroParam", {"inference_cost.ref_memory_mb": 0}, {"name": "inferenceCost"}),
    ("ZeroParam", {"commit_window": 0}, {"name": "commitWindow"}),
    ("ZeroParam", {"score_reveal_window": 0}, {"name": "scoreRevealWindow"}),
    ("ZeroParam", {"min_stake": 0, "slash_amount": 0}, {"name": "minStake"}),
    ("ZeroParam", {"min_budget": 0}, {"name": "minBudget"}),
    ("WindowTooLong", {"commit_window": 50_401}, {"name": "commitWindow", "value": 50_401, "max": 50_400}),
    ("WindowTooLong", {"unbonding_blocks": 201_601}, {"name": "unbondingBlocks", "value": 201_601,
                                                      "max": 201_600}),
    ("SlashAboveMinStake", {"slash_amount": 10**18 + 1}, {"slashAmount": 10**18 + 1, "minStake": 10**18}),
]


@pytest.mark.parametrize("error, changes, inputs", BAD, ids=[f"{e}-{next(iter(c))}" for e, c, _ in BAD])
def test_bad_params_are_refused(poq, client, owner, params, error, changes, inputs):
    if "name" in inputs:  # the contract names the field as bytes32
        inputs = {**inputs, "name": inputs["name"].encode().ljust(32, b"\x00")}
    with reverts_with(error, **inputs):
        poq.setParams(raw_params(params, **changes), sender=owner)
    # The Python home of the parameters refuses the same set, before any transaction, naming the field.
    flat = {k: v for k, v in changes.items() if "." not in k}
    model_changes: dict = {}
    for name, value in changes.items():
        if "." in name:
            model, field = name.split(".")
            model_changes[model] = dataclasses.replace(model_changes.get(model, getattr(params, model)),
                                                       **{field: value})
    first = next(iter(changes))
    named = first.split(".")[0] if ".w_" in first else first  # weights are refused as their model's sum
    with pytest.raises(ValueError, match=rf"^{re.escape(named)}[= ]"):
        params.with_(**flat, **model_changes)


def test_the_python_limits_are_the_contracts(poq):
    """``oracle.protocol.params`` states the contract's limits once for the off-chain side; they must agree."""
    from oracle.protocol.params import MAX_COMMITTEE, MAX_EVALUATORS, MAX_SLOTS

    assert (poq.MAX_SLOTS(), poq.MAX_COMMITTEE(), poq.MAX_EVALUATORS()) == (MAX_SLOTS, MAX_COMMITTEE, MAX_EVALUATORS)
