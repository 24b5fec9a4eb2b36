"""The explorer's JSON documents, built from the ledger's folds and the contract's view calls.

Every number the chain holds as a uint256 (wei amounts, WAD fractions, scores)
is a decimal string, because JavaScript's numbers lose precision above 2^53;
block numbers, indices, counts and cost attestations stay JSON numbers. The
per-node means are ``oracle.chain.ledger.node_summary``'s floats, unchanged, so the
page and ``poq payouts`` print the same figures. Callers hold the index's lock.
"""

from __future__ import annotations

import re
from typing import overload

from eth_typing import HexStr
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import TransactionNotFound

from oracle.chain.ledger import RoundRecord, group_summary
from oracle.explorer.index import ChainIndex
from oracle.protocol.params import Role, Stage
from oracle.protocol.task import parse_data_uri

TX_HASH = re.compile(r"^0x[0-9a-fA-F]{64}$")
SUMMARY_WEI = ("paid_wei", "compensated_wei", "slashed_wei")


class NotFound(LookupError):
    """The round, node or transaction asked for is not on the chain; the message says what exists."""


class BadRequest(ValueError):
    """The request names something malformed (not an address, not a hash); the message names it."""


@overload
def _tx(entry: dict) -> dict: ...
@overload
def _tx(entry: None) -> None: ...


def _tx(entry: dict | None) -> dict | None:
    """An event's transaction and block (None for no event)."""
    return None if entry is None else {"tx": entry["tx"], "block": entry["block"]}


def _cost(cost: tuple) -> dict:
    latency_ms, tokens, memory_mb = cost
    return {"latency_ms": latency_ms, "tokens": tokens, "memory_mb": memory_mb}


def _summary_row(row: dict) -> dict:
    return {k: (str(v) if k in SUMMARY_WEI else v) for k, v in row.items()}


def _task(uri: str) -> dict | None:
    """The task's content when its URI carries it (a ``data:`` URI, ``oracle.protocol.task``), else None."""
    try:
        content = parse_data_uri(uri)
    except ValueError:  # not a data: URI, or not JSON
        return None
    return content if isinstance(content, dict) else {"value": content}


def _event_tx(r: RoundRecord, event: str) -> dict | None:
    return next((_tx(t) for t in r.txs if t["event"] == event), None)


def _jsonable(value):
    """ABI-decoded values as JSON: bytes as 0x-hex, integers as decimal strings, tuples as lists."""
    if isinstance(value, (bytes, bytearray, HexBytes)):
        return "0x" + bytes(value).hex()
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return str(value)


# ---------------------------------------------------------------------- documents

def status(index: ChainIndex, chain_error: str | None = None) -> dict:
    """Which deployment this is and how far the index has read; ``generation`` changes when the data does.

    ``chain`` is "ok", or "not responding" (``chain_error`` says why) while the chain does not answer: the
    rest is then the last snapshot, ``answered_at`` the time of the chain's last answer.
    """
    return {"chain": "ok" if chain_error is None else "not responding", "chain_error": chain_error,
            "answered_at": index.answered_at,
            "chain_id": index.client.chain_id, "address": index.client.address, "from_block": index.from_block,
            "head": index.head, "generation": index.generation, "events": index.event_count,
            "rounds": len(index.rounds),
            "settled": sum(r.settled for r in index.rounds.values())}


def rounds_list(index: ChainIndex) -> dict:
    """Every round, oldest first, with its stage, budget and what it paid."""
    rows = []
    for rid in sorted(index.rounds):
        r = index.rounds[rid]
        rows.append({
            "id": rid, "stage": r.stage, "kind": r.kind, "requester": r.requester,
            "budget_wei": str(r.budget),
            "paid_wei": None if r.paid is None else str(r.paid),
            "refund_wei": None if r.refund is None else str(r.refund),
            "inference_paid_wei": str(sum(p["amount"] for p in r.inference_paid)),
            "evaluator_paid_wei": str(sum(p["amount"] for p in r.evaluator_paid)),
            "compensated_wei": str(sum(c["amount"] for c in r.compensation)),
            "commits": len(r.committed), "reveals": len(r.outputs), "slots": r.slots,
            "committee": len(r.committee), "slashes": len(r.slashes),
            "reference_withheld": r.reference_withheld,
            "opened_block": r.opened_block, "settled_block": r.settled_block,
        })
    return {"head": index.head, "rounds": rows}


def round_detail(index: ChainIndex, rid: int) -> dict:
    """One round: task, every commit, reveal, score, payout and slash, each with its transaction."""
    r = index.rounds.get(rid)
    if r is None:
        known = f"rounds {min(index.rounds)}..{max(index.rounds)}" if index.rounds else "no rounds yet"
        raise NotFound(f"round {rid} is not on chain {index.client.chain_id} at {index.client.address} "
                       f"(it has {known})")
    outputs = {o["node"]: o for o in r.outputs}
    inference_paid = {p["node"]: p for p in r.inference_paid}
    evaluator_paid = {p["node"]: p for p in r.evaluator_paid}
    slashes = {s["node"]: s for s in r.slashes}
    compensation = {c["node"]: c for c in reversed(r.compensation)}  # the first of each node's (same tx)

    def slash(node: str) -> dict | None:
        s = slashes.get(node)
        return None if s is None else {"amount_wei": str(s["amount"]), "reason": r.slash_reason(node), **_tx(s)}

    def compensated(node: str) -> dict | None:
        # A revealed output of a round nobody scored gets a share of each pool: one entry, their sum.
        c = compensation.get(node)
        return None if c is None else {"amount_wei": str(r.compensated(node)), **_tx(c)}

    def normalised(entry: dict) -> str | None:
        return str(entry["normalised_cost"]) if "normalised_cost" in entry else None

    inference = []
    for node in r.committed:
        o, p = outputs.get(node), inference_paid.get(node)
        inference.append({
            "node": node, "name": index.name_of(node), "commit": _tx(r.commit_txs.get(node)),
            "reveal": None if o is None else {
                "index": o["index"], "output": o["output"], "cost": _cost(o["cost"]),
                "normalised_cost_wad": normalised(o), **_tx(o)},
            "payout": None if p is None else {
                "quality_wad": str(p["quality"]), "cost_wad": str(p["cost"]), "reward_wad": str(p["reward"]),
                "amount_wei": str(p["amount"]), **_tx(p)},
            "compensation": compensated(node),
            "slash": slash(node),
        })
    committee = []
    for member in r.committee:
        s, p = r.scores.get(member), evaluator_paid.get(member)
        absent = r.settled and member not in r.score_commits
        committee.append({
            "node": member, "name": index.name_of(member), "commit": _tx(r.score_commit_txs.get(member)),
            "reveal": None if s is None else {
                "scores_wad": [str(x) for x in s["scores"]], "cost": _cost(s["cost"]),
                "normalised_cost_wad": normalised(s), **_tx(s)},
            "payout": None if p is None else {
                "agreement_wad": str(p["agreement"]), "cost_wad": str(p["cost"]), "reward_wad": str(p["reward"]),
                "amount_wei": str(p["amount"]), **_tx(p)},
            "compensation": compensated(member),
            # Drawn and never committed: slashed, unless the requester withheld its reference (excused).
            "absent": absent,
            "excused": absent and member not in slashes,
            "slash": slash(member),
        })
    live = None
    if not r.settled:
        view = index.client.round(rid)
        live = {"stage": Stage(view["stage"]).label, "deadline": view["deadline"], "expired": view["expired"]}
    return {
        "id": rid, "stage": r.stage, "kind": r.kind, "requester": r.requester, "uri": r.uri, "task": _task(r.uri),
        "reference": r.reference, "has_reference": r.has_reference, "reference_withheld": r.reference_withheld,
        "slots": r.slots, "committee_size": r.committee_size,
        "params_version": r.params_version, "budget_wei": str(r.budget),
        "inference_pool_wei": str(r.inference_pool), "evaluator_pool_wei": str(r.evaluator_pool),
        "paid_wei": None if r.paid is None else str(r.paid),
        "refund_wei": None if r.refund is None else str(r.refund),
        "compensated_wei": str(sum(c["amount"] for c in r.compensation)),
        "opened": _event_tx(r, "RoundOpened"), "settled": _event_tx(r, "RoundSettled"), "live": live,
        "inference": inference, "committee": committee,
        "timeline": [{"event": t["event"], "tx": t["tx"], "block": t["block"]} for t in r.txs],
    }


def _checksum(address: str) -> str:
    if not Web3.is_address(address):
        raise BadRequest(f"{address!r} is not an address: give 0x and 40 hex digits")
    return Web3.to_checksum_address(address)


def node_detail(index: ChainIndex, address: str) -> dict:
    """One address: its stake and balance now (view calls), its rounds, slashes, withdrawals and stake moves."""
    node = _checksum(address)
    view = index.client.node(node)
    history, requested, slashes = [], [], []
    for rid in sorted(index.rounds):
        r = index.rounds[rid]
        if r.requester == node:
            opened = _event_tx(r, "RoundOpened")
            assert opened is not None  # the requester is known from the round's RoundOpened event
            requested.append({"round": rid, "stage": r.stage, "budget_wei": str(r.budget),
                              "refund_wei": None if r.refund is None else str(r.refund), **opened})
        role = "inference" if node in r.committed else "evaluator" if node in r.committee else None
        if role is None:
            continue
        if role == "inference":
            commit = r.commit_txs.get(node)
            reveal = next((o for o in r.outputs if o["node"] == node), None)
            paid = next((p for p in r.inference_paid if p["node"] == node), None)
            score_key = "quality"
        else:
            commit = r.score_commit_txs.get(node)
            reveal = r.scores.get(node)
            paid = next((p for p in r.evaluator_paid if p["node"] == node), None)
            score_key = "agreement"
        slash = next((s for s in r.slashes if s["node"] == node), None)
        if slash is not None:
            slashes.append({"round": rid, "amount_wei": str(slash["amount"]), "reason": r.slash_reason(node),
                            **_tx(slash)})
        comp = r.compensated(node)
        history.append({
            "round": rid, "stage": r.stage, "role": role, "commit": _tx(commit), "reveal": _tx(reveal),
            "score_wad": None if paid is None else str(paid[score_key]),
            "cost_wad": None if paid is None else str(paid["cost"]),
            "reward_wad": None if paid is None else str(paid["reward"]),
            "amount_wei": None if paid is None else str(paid["amount"]),
            "payout": _tx(paid),
            "compensation_wei": str(comp) if comp else None,
            "absent": role == "evaluator" and r.settled and commit is None,
            "slash_wei": None if slash is None else str(slash["amount"]),
            "slash_reason": None if slash is None else r.slash_reason(node),
        })
    account = index.accounts.get(node)
    moves = [] if account is None else [
        {k: (str(v) if k in ("stake", "amount") else v) for k, v in h.items()} for h in account.history]
    summary = index.summary.get(node)
    return {
        "address": node, "name": index.name_of(node), "model": index.models.get(node),
        "registered_role": Role(view["role"]).name.lower(), "stake_wei": str(view["stake"]),
        "pending_rounds": view["pending_rounds"], "exitable_at": view["exitable_at"],
        "balance_wei": str(index.client.balance_of(node)),
        "withdrawn_wei": str(0 if account is None else account.withdrawn),
        "summary": None if summary is None else _summary_row(summary),
        "rounds": history, "requested": requested, "slashes": slashes,
        "withdrawals": [m for m in moves if m["event"] == "Withdrawn"],
        "account_events": moves,
    }


def _rank(row: dict) -> tuple:
    """Inference nodes before evaluators (their rewards measure different work), then best mean reward first."""
    return (row["role"] != "inference", row["role"], -row["mean_reward"], -row["rounds"])


def leaderboard(index: ChainIndex) -> dict:
    """Average reward per node (``node_summary``) and per model (``group_summary``), ranked by ``_rank``."""
    nodes = [{"node": node, "name": index.name_of(node), "model": index.models.get(node), **_summary_row(row)}
             for node, row in index.summary.items()]
    models = [{"label": label, "recorded": label not in index.summary, **_summary_row(row)}
              for label, row in group_summary(index.summary, index.models).items()]
    # Registered nodes with no settled round yet: listed so that every node's page can be reached.
    waiting = [{"node": a.address, "name": index.name_of(a.address), "role": a.role}
               for a in index.accounts.values() if a.role and a.address not in index.summary]
    return {"nodes": sorted(nodes, key=_rank), "models": sorted(models, key=_rank),
            "models_recorded": bool(index.models), "unpaid": waiting}


def transaction(index: ChainIndex, tx_hash: str) -> dict:
    """One transaction: sender, status, gas, the PoQ function it called (decoded) and the PoQ events it emitted."""
    if not TX_HASH.match(tx_hash):
        raise BadRequest(f"{tx_hash!r} is not a transaction hash: give 0x and 64 hex digits")
    eth = index.client.w3.eth
    try:
        tx = eth.get_transaction(HexStr(tx_hash))
        receipt = eth.get_transaction_receipt(HexStr(tx_hash))
    except TransactionNotFound:
        raise NotFound(f"transaction {tx_hash} is not on chain {index.client.chain_id}") from None
    call = None
    if tx["to"] is not None and Web3.to_checksum_address(tx["to"]) == index.client.address:
        fn, args = index.client.contract.decode_function_input(tx["input"])
        call = {"function": fn.fn_name, "signature": fn.signature, "args": _jsonable(dict(args))}
    tx_hex = HexBytes(tx_hash).to_0x_hex()
    events = [{"event": e["event"], "log_index": e["log_index"], "args": _jsonable(e["args"])}
              for e in index.events_in(tx_hex)]
    return {
        "hash": tx_hex, "block": receipt["blockNumber"], "from": tx["from"], "to": tx["to"],
        "created": receipt["contractAddress"], "status": receipt["status"], "value_wei": str(tx["value"]),
        "gas_used": receipt["gasUsed"], "effective_gas_price_wei": str(receipt["effectiveGasPrice"]),
        "call": call, "events": events,
    }
