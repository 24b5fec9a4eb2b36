"""The explorer's JSON API against the chain: the same numbers as the ledger (``poq payouts``), exact wei."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import replace

import pytest

from oracle.chain.anvil import Anvil
from oracle.chain.artifacts import poq_artifact
from oracle.chain.client import PoQClient, dev_account
from oracle.chain.deployment import Deployment, NodeAccount, abi_sha256
from oracle.explorer.index import ChainIndex
from oracle.protocol.params import Params, Role
from poq.main import main as poq

from .conftest import EVALUATORS, FLAKY, INFERENCE

# v2: settle takes the round's lists (read from its events, checked against storage) in its calldata.
SETTLE_SIGNATURE = "settle(uint256,(address[],address[],address[],(uint64[],(uint64,uint64,uint64))[]))"


def get(server, path: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(server.url + path, timeout=30) as res:
            return res.status, json.load(res)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


def test_leaderboard_and_node_pages_tally_the_paid_and_slashed_events(devnet, explorer):
    """Each row is checked against a tally made here from the raw events, and against the fixture's known rounds."""
    tally: dict[str, dict] = {}
    for e in devnet.client.events():
        a = e["args"]
        if e["event"] in ("InferencePaid", "EvaluatorPaid"):
            inference = e["event"] == "InferencePaid"
            t = tally.setdefault(a["node"] if inference else a["evaluator"],
                                 {"rounds": 0, "score": 0, "cost": 0, "reward": 0, "paid": 0, "slashes": 0,
                                  "slashed": 0})
            t["role"] = "inference" if inference else "evaluator"
            t["rounds"] += 1
            t["score"] += a["quality"] if inference else a["agreement"]
            t["cost"] += a["cost"]
            t["reward"] += a["reward"]
            t["paid"] += a["amount"]
        elif e["event"] == "Slashed":
            t = tally.setdefault(a["node"], {"rounds": 0, "score": 0, "cost": 0, "reward": 0, "paid": 0,
                                             "slashes": 0, "slashed": 0})
            t["slashes"] += 1
            t["slashed"] += a["amount"]

    status, board = get(explorer, "/api/leaderboard")
    assert status == 200
    api_rows = {row["node"]: row for row in board["nodes"]}
    assert set(api_rows) == set(tally)
    for node, t in tally.items():
        got = api_rows[node]
        n = t["rounds"]
        assert (got["role"], got["rounds"], got["slashes"]) == (t.get("role", "unpaid"), n, t["slashes"])
        assert (int(got["paid_wei"]), int(got["slashed_wei"])) == (t["paid"], t["slashed"])
        assert got["mean_score"] == pytest.approx(t["score"] / n / 10**18)
        assert got["mean_cost"] == pytest.approx(t["cost"] / n / 10**18)
        assert got["mean_reward"] == pytest.approx(t["reward"] / n / 10**18)
        _, page = get(explorer, f"/api/nodes/{node}")
        assert page["summary"] == {k: got[k] for k in page["summary"]}
        assert {"role", "rounds", "mean_score", "mean_reward", "paid_wei", "slashes"} <= page["summary"].keys()

    # The fixture's facts: two settled rounds, all four inference nodes reveal in round 1 and all but the
    # flaky one in round 2, the three evaluators make the committee of three both times, and only the
    # flaky node is slashed, once, by slash_amount.
    rows = {devnet.names[node]: row for node, row in api_rows.items()}
    flaky = INFERENCE[FLAKY][0]
    assert {name: row["rounds"] for name, row in rows.items()} == \
        {**{name: 2 for name, *_ in INFERENCE}, flaky: 1, **{name: 2 for name, *_ in EVALUATORS}}
    assert {name: (row["slashes"], int(row["slashed_wei"])) for name, row in rows.items()} == \
        {name: ((1, Params().slash_amount) if name == flaky else (0, 0)) for name in rows}

    roles = [row["role"] for row in board["nodes"]]
    assert roles == sorted(roles, key=lambda role: role != "inference")  # inference nodes first
    for role in set(roles):
        means = [row["mean_reward"] for row in board["nodes"] if row["role"] == role]
        assert means == sorted(means, reverse=True)


def test_models_group_their_nodes(devnet, explorer):
    _, board = get(explorer, "/api/leaderboard")
    smol = next(m for m in board["models"] if m["label"] == "smollm2-135m")
    members = {devnet.addresses["smol-fast"], devnet.addresses["phi-flaky"]}
    assert set(smol["nodes"]) == members
    rows = {r["node"]: r for r in board["nodes"]}
    assert smol["rounds"] == sum(rows[n]["rounds"] for n in members)
    assert int(smol["paid_wei"]) == sum(int(rows[n]["paid_wei"]) for n in members)
    # Evaluators have no recorded model: each is its own group, labelled by its address.
    evaluator = devnet.addresses["f1-a"]
    assert any(m["label"] == evaluator and not m["recorded"] for m in board["models"])


def test_rounds_and_round_detail_equal_the_events(devnet, explorer):
    events = devnet.client.events()
    settled = {e["args"]["roundId"]: e["args"] for e in events if e["event"] == "RoundSettled"}
    _, listing = get(explorer, "/api/rounds")
    for row in listing["rounds"]:
        if row["id"] in settled:
            assert row["stage"] == "Settled"
            assert (int(row["paid_wei"]), int(row["refund_wei"])) == \
                (settled[row["id"]]["paid"], settled[row["id"]]["refund"])
    assert settled.keys() <= {row["id"] for row in listing["rounds"]}

    rid = max(settled)
    _, detail = get(explorer, f"/api/rounds/{rid}")
    paid = {e["args"]["node" if e["event"] == "InferencePaid" else "evaluator"]: e
            for e in events if e["event"] in ("InferencePaid", "EvaluatorPaid") and e["args"]["roundId"] == rid}
    shown = {n["node"]: n["payout"] for n in detail["inference"] + detail["committee"] if n["payout"]}
    assert shown.keys() == paid.keys()
    for node, payout in shown.items():
        assert int(payout["amount_wei"]) == paid[node]["args"]["amount"]
        assert (payout["tx"], payout["block"]) == (paid[node]["tx"], paid[node]["block"])
    reveals = {e["args"]["node"]: e for e in events if e["event"] == "OutputRevealed" and e["args"]["roundId"] == rid}
    for n in detail["inference"]:
        if n["node"] in reveals:
            ev = reveals[n["node"]]
            assert (n["reveal"]["output"], n["reveal"]["tx"], n["reveal"]["block"]) == \
                (ev["args"]["output"], ev["tx"], ev["block"])
            assert n["reveal"]["cost"] == {"latency_ms": ev["args"]["cost"]["latencyMs"],
                                           "tokens": ev["args"]["cost"]["tokens"],
                                           "memory_mb": ev["args"]["cost"]["memoryMb"]}
    flaky = devnet.addresses[INFERENCE[FLAKY][0]]
    silent = next(n for n in detail["inference"] if n["node"] == flaky)
    assert silent["reveal"] is None and silent["payout"] is None
    assert int(silent["slash"]["amount_wei"]) == Params().slash_amount
    assert detail["task"]["question"].startswith("Which NFL team")


def test_node_page_shows_stake_slashes_and_withdrawals(devnet, explorer):
    flaky = devnet.addresses[INFERENCE[FLAKY][0]]
    _, node = get(explorer, f"/api/nodes/{flaky.lower()}")
    assert node["address"] == flaky and node["registered_role"] == "inference"
    # Slashed to min_stake - slash_amount, then topped up by slash_amount.
    assert int(node["stake_wei"]) == devnet.client.node(flaky)["stake"] == Params().min_stake
    assert [(m["event"], int(m["stake"])) for m in node["account_events"]] == \
        [("NodeRegistered", Params().min_stake), ("StakeAdded", Params().min_stake)]
    assert [(s["round"], int(s["amount_wei"])) for s in node["slashes"]] == [(2, Params().slash_amount)]
    assert int(node["balance_wei"]) == devnet.client.balance_of(flaky)

    withdrawer = devnet.addresses[INFERENCE[0][0]]
    withdrawn = [e for e in devnet.client.events() if e["event"] == "Withdrawn" and e["args"]["account"] == withdrawer]
    _, node = get(explorer, f"/api/nodes/{withdrawer}")
    assert [(int(w["amount"]), w["tx"]) for w in node["withdrawals"]] == \
        [(e["args"]["amount"], e["tx"]) for e in withdrawn]
    assert int(node["withdrawn_wei"]) == sum(e["args"]["amount"] for e in withdrawn) > 0


def test_transaction_page_decodes_the_call_and_its_events(devnet, explorer):
    _, detail = get(explorer, "/api/rounds/1")
    status, tx = get(explorer, f"/api/tx/{detail['settled']['tx']}")
    assert status == 200 and tx["status"] == 1
    call = tx["call"]
    assert (call["function"], call["signature"], call["args"]["roundId"]) == ("settle", SETTLE_SIGNATURE, "1")
    evidence = devnet.client.evidence(1)
    settlement = call["args"]["s"]
    assert (settlement["outputs"], settlement["silent"], settlement["committee"]) == \
        (list(evidence.outputs), list(evidence.silent), list(evidence.committee))
    assert [[int(x) for x in card["scores"]] for card in settlement["cards"]] == \
        [list(card[0]) for card in evidence.cards]
    assert "RoundSettled" in [e["event"] for e in tx["events"]]


def test_errors_name_the_bad_value(explorer):
    status, body = get(explorer, "/api/rounds/999")
    assert status == 404 and "round 999" in body["error"]
    status, body = get(explorer, "/api/nodes/not-an-address")
    assert status == 400 and "'not-an-address' is not an address" in body["error"]
    status, body = get(explorer, "/api/tx/0x1234")
    assert status == 400 and "transaction hash" in body["error"]
    status, body = get(explorer, "/api/nowhere")
    assert status == 404 and "/api/nowhere" in body["error"]
    status, body = get(explorer, "/static/../index.py")
    assert status == 404


def test_abi_endpoint_and_export_match_the_compiled_contract(devnet, explorer, tmp_path):
    _, doc = get(explorer, "/api/abi")
    assert doc["abi"] == poq_artifact().abi
    meta = doc["metadata"]
    assert (meta["address"], meta["chain_id"]) == (devnet.client.address, devnet.client.chain_id)
    assert meta["compiler"]["version"].startswith("v0.8.28+commit.")
    settle_selector = devnet.client.contract.encode_abi("settle", [1, devnet.client.evidence(1).settlement()])[:10]
    assert meta["selectors"]["functions"][settle_selector] == SETTLE_SIGNATURE
    assert "Slashed(uint256,address,uint256)" in meta["selectors"]["events"].values()

    assert poq(["explorer", "--rpc", devnet.anvil.url, "--address", devnet.client.address,
                "--export-abi", str(tmp_path)]) == 0
    assert json.loads((tmp_path / "PoQ.abi.json").read_text()) == poq_artifact().abi
    exported = json.loads((tmp_path / "PoQ.metadata.json").read_text())
    assert exported["address"] == devnet.client.address and exported["abi_file"] == "PoQ.abi.json"
    assert exported["selectors"] == meta["selectors"]


def test_export_reads_the_deployment_file(devnet, tmp_path, capsys):
    deployment = Deployment(chain_id=devnet.client.chain_id, address=devnet.client.address, deploy_block=1,
                            rpc_url=devnet.anvil.url, abi_sha256=abi_sha256(poq_artifact().abi),
                            accounts=[NodeAccount(name, "inference", address)
                                      for address, name in devnet.names.items()])
    path = deployment.save(tmp_path / "deployment.json")
    assert poq(["explorer", "--deployment", str(path), "--export-abi", str(tmp_path / "abi")]) == 0
    exported = json.loads((tmp_path / "abi" / "PoQ.metadata.json").read_text())
    assert (exported["address"], exported["deploy_block"]) == (devnet.client.address, 1)
    # A deployment on another chain id is refused, naming both ids.
    replace(deployment, chain_id=1).save()
    assert poq(["explorer", "--deployment", str(path), "--export-abi", str(tmp_path / "other")]) == 2
    assert "chain id 1" in capsys.readouterr().err
    assert not (tmp_path / "other").exists()


def test_index_starts_over_when_the_chain_forgets_blocks():
    """A devnet restarted or reverted under a running explorer: the page must not keep vanished events."""
    params = Params()
    with Anvil() as anvil:
        client = PoQClient.deploy(PoQClient.web3(anvil.url), dev_account(0), params)
        index = ChainIndex(client)
        snapshot = client.w3.provider.make_request("evm_snapshot", [])["result"]
        node = dev_account(1)
        client.register(node, Role.INFERENCE, params.min_stake)
        index.refresh()
        assert node.address in index.accounts
        client.w3.provider.make_request("evm_revert", [snapshot])
        client.w3.provider.make_request("anvil_mine", [hex(3)])
        index.refresh()
        assert node.address not in index.accounts
        assert index.head == client.w3.eth.block_number


def test_model_options_map_account_names_and_addresses():
    from eth_utils import to_checksum_address

    from poq.commands.explorer import _models

    a, b = to_checksum_address("0x" + "11" * 20), "0x" + "ab" * 20  # b in lower case: any case is accepted
    names = {a: "inference-0"}
    models = _models(["inference-0=smollm2-135m", f"{b}=gemma3-270m"], names)
    assert models == {a: "smollm2-135m", to_checksum_address(b): "gemma3-270m"}
    with pytest.raises(ValueError,
                       match=r"--model 'inference-9=x': 'inference-9' is neither an account name .*inference-0"):
        _models(["inference-9=x"], names)
    with pytest.raises(ValueError, match=r"--model 'inference-0': expected NODE=MODEL"):
        _models(["inference-0"], names)
