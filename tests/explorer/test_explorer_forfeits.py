"""v2's forfeits on the explorer and in ``poq payouts``: a withheld reference compensates the nodes that did
their part (absent members excused), and an absent member of a round whose reference came is slashed.

Its own Anvil and PoQ (the module fixture of ``conftest`` keeps its two known rounds): two inference
nodes and three evaluators, all drawn (K = 3). Round 1: the requester withholds its reference; the
reference-free evaluator scores, the two that need a reference stay away. Round 2: the reference is
revealed and one evaluator stays away.
"""

from __future__ import annotations

import json
import urllib.request

import pytest
from playwright.sync_api import expect

from oracle.chain.anvil import Anvil
from oracle.chain.client import PoQClient, dev_account
from oracle.chain.deployment import Deployment, NodeAccount
from oracle.chain.ledger import build_rounds, check_against_reference, stakes_at_settlement
from oracle.chain.payouts import collect
from oracle.chain.scripted_round import ScriptedEvaluator, play_scripted_round, register_scripted_inference
from oracle.explorer.index import ChainIndex
from oracle.explorer.server import ExplorerServer
from oracle.pipeline.quality.token_f1 import token_f1
from oracle.protocol.params import WAD, Params, Role, to_wad
from oracle.protocol.reward import Cost

from .conftest import QUESTION, REFERENCE

TIMEOUT_MS = 20_000
INFERENCE = [("right", "The Denver Broncos", (900, 5, 2_000)), ("wrong", "The Carolina Panthers", (1_500, 6, 2_500))]
WITHHELD, ABSENT = 1, 2  # the rounds


def _f1(outputs, reference):
    return [to_wad(token_f1(o, [reference])) for o in outputs]


def _reference_free(outputs, reference):
    """Scores without a reference (here: whether the answer names Denver), so it can score a withheld round."""
    return [WAD if "Denver" in o else WAD // 10 for o in outputs]


@pytest.fixture(scope="module")
def forfeits():
    params = Params()
    with Anvil() as anvil:
        client = PoQClient.deploy(PoQClient.web3(anvil.url), dev_account(0), params)
        inference, names = register_scripted_inference(client, INFERENCE, 1, params.min_stake)
        accounts = [NodeAccount(name, "inference", address) for address, name in names.items()]
        evaluators = {}
        for j, (name, scorer) in enumerate([("ref-free", _reference_free), ("f1-x", _f1), ("f1-y", _f1)],
                                           start=len(INFERENCE) + 1):
            acct = dev_account(j)
            client.register(acct, Role.EVALUATOR, params.min_stake)
            evaluators[name] = ScriptedEvaluator(acct, scorer, Cost(50 * j, 100, 300))
            names[acct.address] = name
            accounts.append(NodeAccount(name, "evaluator", acct.address))

        def absent(*who: str) -> list[ScriptedEvaluator]:
            return [ScriptedEvaluator(e.account, e.scorer, e.cost, commits=name not in who)
                    for name, e in evaluators.items()]

        requester = dev_account(10)
        assert play_scripted_round(client, requester, QUESTION, "qa", REFERENCE, inference, absent("f1-x", "f1-y"),
                                   budget=10**18, committee_size=3, reveal_reference=False) == WITHHELD
        assert play_scripted_round(client, requester, QUESTION, "qa", REFERENCE, inference, absent("f1-y"),
                                   budget=10**18, committee_size=3) == ABSENT
        index = ChainIndex(client, 0, names=names)
        server = ExplorerServer(index, "127.0.0.1", 0, deploy_block=0)
        server.start_background()
        deployment = Deployment(chain_id=client.chain_id, address=client.address, deploy_block=0,
                                rpc_url=anvil.url, accounts=accounts)
        try:
            yield client, server, {v: k for k, v in names.items()}, deployment
        finally:
            server.shutdown()
            server.server_close()


def _get(server, path: str) -> dict:
    with urllib.request.urlopen(server.url + path, timeout=30) as res:
        return json.load(res)


def test_the_rounds_settle_as_the_reference_model_says(forfeits):
    client, _, _, _ = forfeits
    events = client.events()
    rounds, stakes = build_rounds(events, client.params), stakes_at_settlement(events)
    for rid in (WITHHELD, ABSENT):
        assert check_against_reference(rounds[rid], client.params(rounds[rid].params_version), stakes[rid]) == []
    assert rounds[WITHHELD].reference_withheld and rounds[WITHHELD].compensation
    assert not rounds[ABSENT].reference_withheld and not rounds[ABSENT].compensation


def test_a_withheld_reference_shows_its_compensation_and_excused_members(forfeits):
    client, server, addresses, _ = forfeits
    detail = _get(server, f"/api/rounds/{WITHHELD}")
    paid = {e["args"]["node"]: e for e in client.events(names=["Compensated"]) if e["args"]["roundId"] == WITHHELD}
    assert detail["reference_withheld"] and detail["has_reference"] and detail["reference"] is None
    assert int(detail["compensated_wei"]) == sum(e["args"]["amount"] for e in paid.values())
    shown = {n["node"]: n["compensation"] for n in detail["inference"] + detail["committee"] if n["compensation"]}
    # Both revealed outputs (the inference pool's remainder) and the one member that scored (the evaluator pool's).
    assert shown.keys() == paid.keys() == {addresses["right"], addresses["wrong"], addresses["ref-free"]}
    for node, comp in shown.items():
        assert (int(comp["amount_wei"]), comp["tx"]) == (paid[node]["args"]["amount"], paid[node]["tx"])
    members = {m["node"]: m for m in detail["committee"]}
    for name in ("f1-x", "f1-y"):
        m = members[addresses[name]]
        assert m["absent"] and m["excused"] and m["slash"] is None and m["commit"] is None
    assert not members[addresses["ref-free"]]["absent"]
    assert sum(r["slashes"] for r in _get(server, "/api/rounds")["rounds"] if r["id"] == WITHHELD) == 0


def test_an_absent_member_is_shown_slashed(forfeits):
    client, server, addresses, _ = forfeits
    absent = addresses["f1-y"]
    (slash,) = [e for e in client.events(names=["Slashed"]) if e["args"]["roundId"] == ABSENT]
    assert slash["args"]["node"] == absent and slash["args"]["amount"] == Params().slash_amount
    detail = _get(server, f"/api/rounds/{ABSENT}")
    (m,) = [m for m in detail["committee"] if m["node"] == absent]
    assert m["absent"] and not m["excused"] and m["commit"] is None
    assert (int(m["slash"]["amount_wei"]), m["slash"]["tx"]) == (slash["args"]["amount"], slash["tx"])
    assert m["slash"]["reason"] == "absent: drawn and never committed"
    node = _get(server, f"/api/nodes/{absent}")
    assert [(s["round"], s["reason"]) for s in node["slashes"]] == [(ABSENT, "absent: drawn and never committed")]
    (row,) = [h for h in node["rounds"] if h["round"] == ABSENT]
    assert row["absent"] and row["slash_reason"] == "absent: drawn and never committed"
    (row,) = [h for h in node["rounds"] if h["round"] == WITHHELD]
    assert row["absent"] and row["slash_wei"] is None


def test_payouts_lists_the_compensation_and_checks_it_against_the_model(forfeits):
    client, _, _, deployment = forfeits
    data = collect(client, deployment)
    rounds = {r["round"]: r for r in data["rounds"]}
    assert all(r["matches_reference_model"] for r in rounds.values())
    comp = {e["args"]["node"]: e["args"]["amount"] for e in client.events(names=["Compensated"])}
    names = deployment.names()
    assert rounds[WITHHELD]["reference_withheld"] and rounds[WITHHELD]["slashes"] == []
    assert {c["node"]: c["amount_wei"] for c in rounds[WITHHELD]["compensation"]} == \
        {names[a]: amount for a, amount in comp.items()}
    assert rounds[ABSENT]["slashes"] == [{"node": "f1-y", "amount_wei": Params().slash_amount}]
    nodes = {n["node"]: n for n in data["nodes"]}
    assert nodes["ref-free"]["compensated_wei"] == comp[deployment.account("ref-free").address]


def test_the_round_page_shows_the_withheld_reference_and_the_absent_slash(forfeits, page, screenshot):
    client, server, addresses, _ = forfeits
    page.goto(f"{server.url}/#/rounds/{WITHHELD}")
    expect(page.locator(".task")).to_contain_text("withheld by the requester", timeout=TIMEOUT_MS)
    right = page.locator(f'#inference tr[data-node="{addresses["right"]}"] td.payout')
    (comp,) = [e for e in client.events(names=["Compensated"])
               if e["args"]["roundId"] == WITHHELD and e["args"]["node"] == addresses["right"]]
    expect(right.locator(".comp")).to_contain_text("compensation")
    assert right.locator(".comp-eth").get_attribute("data-wei") == str(comp["args"]["amount"])
    expect(page.locator(f'#committee tr[data-node="{addresses["f1-x"]}"]')).to_contain_text("not slashed")
    screenshot(page, "round-withheld")

    page.goto(f"{server.url}/#/rounds/{ABSENT}")
    row = page.locator(f'#committee tr[data-node="{addresses["f1-y"]}"]')
    expect(row).to_contain_text("absent: never committed", timeout=TIMEOUT_MS)
    expect(row.locator("td.payout")).to_contain_text("slashed")
    screenshot(page, "round-absent-member")
