"""Governance: only the owner sets parameters, nonsense is refused (by the contract and by ``Params``
alike), and a round keeps the parameter set it opened with."""

from __future__ import annotations

import dataclasses
import re
from types import SimpleNamespace

import pytest

from oracle.params import WAD, Aggregation, Params, Stage

from .harness import reverts_with


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
    ("SlashAboveMinStake", {"slash_amount": 10**18 + 1}, {"slashAmount": 10**18 + 1, "minStake": 10**18}),
]


@pytest.mark.parametrize("error, changes, inputs", BAD, ids=[f"{e}-{next(iter(c))}" for e, c, _ in BAD])
def test_bad_params_are_refused(poq, client, owner, params, error, changes, inputs):
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
