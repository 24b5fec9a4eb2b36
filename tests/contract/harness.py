"""Helpers shared by the contract tests: who plays which role, a fast client for bulk rounds, and the
checks every settling test makes (the contract's credits equal ``oracle.protocol.reward.settle``; the committee
equals ``oracle.protocol.sortition.draw``).

ape's own transactions cost about 150 ms each here (gas estimation, pure-Python
signing, a dozen RPCs, a call trace on every revert), so test setup and the
property and invariant tests, which send thousands, talk to the same Anvil that
ape started through ``FastClient``: the project's ``PoQClient`` (commitments,
the settlement lists built from the events) sending from Anvil's unlocked dev
accounts with ``eth_sendTransactionSync``, one round trip of about 5 ms, and
reading views and logs over bare JSON-RPC. The calls a test is about go through ape.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import ape
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import event_abi_to_log_topic, function_abi_to_4byte_selector, to_checksum_address
from eth_utils.abi import get_abi_input_types, get_abi_output_types
from web3 import HTTPProvider, Web3

from oracle.chain.client import ContractRevert, PoQClient, by_address, decode_revert
from oracle.chain.jsonrpc import LeanRpc
from oracle.chain.ledger import build_rounds, check_against_reference, round_input
from oracle.protocol.commitments import new_salt, output_commitment, scores_commitment
from oracle.protocol.params import Params, Role, Stage
from oracle.protocol.reward import (
    Cost,
    Evaluation,
    EvaluatorPayout,
    InferencePayout,
    Output,
    RoundInput,
    Settlement,
    normalised_cost,
)
from oracle.protocol.reward import settle as model_settle
from oracle.protocol.sortition import Candidate, draw, draw_weight, mix_salts, round_seed

# Role of each of the 20 test accounts (ape-config.yaml: number_of_accounts: 20).
OWNER = 0
REQUESTER = 1
INFERENCE = range(2, 10)  # 8 inference nodes: n goes up to 8
EVALUATORS = range(10, 16)  # 6 evaluators: K goes up to 5 with one to spare
SPARE = (16, 17, 18)  # registered by no fixture: late registrations
OUTSIDER = 19  # registered as nothing

REFERENCE_SALT = b"\x11" * 32
ZERO32 = b"\x00" * 32
EMPTY_SETTLEMENT = ([], [], [], [])  # what a settle call refused for its stage may carry


@contextmanager
def reverts_with(error: str, **inputs: Any) -> Iterator[None]:
    """Expect the block to revert with PoQ's custom error ``error`` (and these decoded inputs).

    ``ape.reverts(SomeError)`` passes for any non-custom revert and for a custom error
    class not bound to a contract instance, so the name is checked here explicitly.
    """
    with ape.reverts() as info:
        yield
    got = type(info.value).__name__
    assert got == error, f"expected revert {error}, got {got}: {info.value}"
    for name, want in inputs.items():
        actual = info.value.inputs[name]
        assert actual == want, f"{error}.{name}: expected {want!r}, got {actual!r}"


@contextmanager
def fast_reverts_with(client: FastClient, error: str, **inputs: Any) -> Iterator[None]:
    """``reverts_with`` for calls sent through ``FastClient`` (a bulk of refusals, where ape's tracing of
    each revert would cost a second or two apiece)."""
    try:
        yield
    except ContractRevert as exc:
        assert exc.name == error, f"expected revert {error}, got {exc.name}{exc.args_}"
        (abi,) = [e for e in client.abi if e["type"] == "error" and e["name"] == error]
        got = {i["name"]: _checksummed(i, v) for i, v in zip(abi["inputs"], exc.args_, strict=True)}
        for name, want in inputs.items():
            assert got[name] == want, f"{error}.{name}: expected {want!r}, got {got[name]!r}"
    else:
        raise AssertionError(f"expected revert {error}, but the call succeeded")


def _snake(name: str) -> str:
    """``committeeSize`` -> ``committee_size``: PoQClient's keys for struct fields."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _decoded(param: dict, value: Any) -> Any:
    """An ABI-decoded value as web3 gives it in event args: checksummed addresses, structs as mappings."""
    kind = param["type"]
    if kind.endswith("]"):
        inner = {**param, "type": kind[:kind.rindex("[")]}
        return [_decoded(inner, v) for v in value]
    if kind == "tuple":
        return {c["name"]: _decoded(c, v) for c, v in zip(param["components"], value, strict=True)}
    if kind == "address":
        return to_checksum_address(value)
    return value


def _abi_type(param: dict) -> str:
    """The canonical ABI type of ``param``: ``(uint64,uint64,uint64)[]`` for a struct array."""
    if param["type"].startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in param["components"]) + ")" + param["type"][5:]
    return param["type"]


def _checksummed(param: dict, value: Any) -> Any:
    """An ABI-decoded view output with checksummed addresses (structs stay tuples)."""
    kind = param["type"]
    if kind.endswith("]"):
        inner = {**param, "type": kind[:kind.rindex("[")]}
        return [_checksummed(inner, v) for v in value]
    if kind == "tuple":
        return tuple(_checksummed(c, v) for c, v in zip(param["components"], value, strict=True))
    return to_checksum_address(value) if kind == "address" else value


class FastClient(PoQClient):
    """``PoQClient`` that sends through Anvil's unlocked accounts and reads over bare JSON-RPC.

    Encoding, views, sending and log decoding skip web3's per-call ABI lookup and middleware
    (about 10 ms a call, most of a round's time); the rest is ``PoQClient``'s. Test-only: it
    relies on Anvil holding the dev keys and mining each transaction at once, in its own block.
    """

    def __init__(self, rpc_url: str, address: str, abi: list) -> None:
        super().__init__(Web3(HTTPProvider(rpc_url)), address, abi)
        self.url = rpc_url
        self.lean = LeanRpc(rpc_url, timeout=30)  # the project's one raw JSON-RPC client
        self._functions = {
            f["name"]: (function_abi_to_4byte_selector(f), get_abi_input_types(f), get_abi_output_types(f), f)
            for f in abi if f["type"] == "function"}
        self._event_abis = {"0x" + event_abi_to_log_topic(e).hex(): e for e in abi if e["type"] == "event"}
        self._topics = {e["name"]: topic for topic, e in self._event_abis.items()}

    @classmethod
    def for_contract(cls, chain: Any, contract: Any) -> FastClient:
        """A client of ape's ``contract`` on ape's chain, with the ABI ape compiled."""
        abi = [entry.model_dump(mode="json", by_alias=True) for entry in contract.contract_type.abi]
        return cls(chain.provider.uri, contract.address, abi)

    def rpc(self, method: str, params: list) -> Any:
        return self.lean.call(method, params)

    def encode(self, fn: str, args: Any) -> str:
        selector, types, _, _ = self._functions[fn]
        return "0x" + (selector + abi_encode(types, list(args))).hex()

    def transact(self, account: Any, fn: str, *args: Any, value: int = 0) -> dict:
        """Send ``fn(*args)``; a revert raises ``ContractRevert`` with the decoded custom error."""
        tx = {"from": account.address, "to": self.address, "value": hex(value), "data": self.encode(fn, args),
              "gas": hex(15_000_000)}
        receipt = self.rpc("eth_sendTransactionSync", [tx])  # Anvil: send, mine, return the receipt
        if receipt["status"] != "0x1":
            raise self._revert_of(receipt, fn)
        return receipt

    def _revert_of(self, receipt: dict, fn: str) -> ContractRevert:
        """The custom error a mined, failed transaction reverted with (from its call trace: a replay
        with ``eth_call`` would see the state after the block, not before the transaction)."""
        trace = self.rpc("debug_traceTransaction", [receipt["transactionHash"], {"tracer": "callTracer"}])
        data = trace.get("output")
        decoded = decode_revert(self.abi, data) if data else None
        return ContractRevert(*(decoded or ("Reverted", (trace.get("error"),))), fn)

    def views(self, calls: list[tuple[str, list]], block: int | str = "latest") -> list[Any]:
        """Several view calls in one JSON-RPC batch at ``block``, decoded (single outputs unwrapped)."""
        if not calls:
            return []
        tag = hex(block) if isinstance(block, int) else block
        results = self.lean.batch([("eth_call", [{"to": self.address, "data": self.encode(fn, args)}, tag])
                                   for fn, args in calls])
        out = []
        for (fn, _args), result in zip(calls, results, strict=True):
            _, _, types, abi = self._functions[fn]
            values = [_checksummed(p, v) for p, v in
                      zip(abi["outputs"], abi_decode(types, bytes.fromhex(result[2:])), strict=True)]
            out.append(values[0] if len(values) == 1 else tuple(values))
        return out

    def view(self, fn: str, *args: Any) -> Any:
        return self.views([(fn, list(args))])[0]

    # PoQClient's views and event reads, over bare JSON-RPC.

    def events(self, from_block: int = 0, to_block: int | str = "latest", names: Iterable[str] | None = None,
               round_id: int | None = None) -> list[dict]:
        """``PoQClient.events`` in one ``eth_getLogs`` (Anvil caps no range), decoded here."""
        topic0 = [self._topics[n] for n in names] if names else None
        topics: list = [topic0]
        if round_id is not None:
            topics.append("0x" + round_id.to_bytes(32, "big").hex())
        logs = self.rpc("eth_getLogs", [{"address": self.address, "fromBlock": hex(from_block),
                                         "toBlock": hex(to_block) if isinstance(to_block, int) else to_block,
                                         "topics": topics}])
        return [self._decode_log(log) for log in logs]

    def _decode_log(self, log: dict) -> dict:
        event = self._event_abis[log["topics"][0]]
        indexed = [i for i in event["inputs"] if i["indexed"]]
        plain = [i for i in event["inputs"] if not i["indexed"]]
        args = {}
        for param, topic in zip(indexed, log["topics"][1:], strict=True):
            (value,) = abi_decode([param["type"]], bytes.fromhex(topic[2:]))
            args[param["name"]] = _decoded(param, value)
        types = [_abi_type(p) for p in plain]
        for param, value in zip(plain, abi_decode(types, bytes.fromhex(log["data"][2:])), strict=True):
            args[param["name"]] = _decoded(param, value)
        return {"event": event["name"], "args": args, "block": int(log["blockNumber"], 16),
                "tx": log["transactionHash"], "log_index": int(log["logIndex"], 16)}

    def round(self, round_id: int) -> dict:
        return self.rounds([round_id])[0]

    def rounds(self, round_ids: Sequence[int]) -> list[dict]:
        """``round()`` of each id, read in one batch."""
        fields = [_snake(f["name"]) for f in self._functions["round"][3]["outputs"][0]["components"]]
        return [{**dict(zip(fields, r, strict=True)), "expired": expired}
                for r, expired in self.views([("round", [rid]) for rid in round_ids])]

    def balance_of(self, address: str) -> int:
        return self.view("balances", address)

    def params(self, version: int) -> Params:
        """Read each time: ``PoQClient`` caches a version's set, but the tests revert the chain to
        snapshots, after which a version number may stand for another set."""
        return Params.from_contract_tuple(self.view("params", version))

    def _node(self, values: Sequence) -> dict:
        fields = [_snake(o["name"]) for o in self._functions["nodes"][3]["outputs"]]
        out = dict(zip(fields, values, strict=True))
        return {**out, "role": Role(out["role"])}

    def node(self, address: str) -> dict:
        return self._node(self.view("nodes", address))

    def next_round_id(self) -> int:
        return self.view("nextRoundId")

    def owed_and_nodes(self, addresses: list[str]) -> tuple[dict[str, int], dict[str, dict]]:
        """Withdrawable balance and ``node()`` record of each address, read in one batch."""
        values = self.views([("balances", [a]) for a in addresses] + [("nodes", [a]) for a in addresses])
        nodes = [self._node(v) for v in values[len(addresses):]]
        return dict(zip(addresses, values[:len(addresses)], strict=True)), dict(zip(addresses, nodes, strict=True))

    def stakes(self, addresses: list[str]) -> dict[str, int]:
        return {a: n["stake"] for a, n in self.owed_and_nodes(addresses)[1].items()}

    def block_number(self) -> int:
        return int(self.rpc("eth_blockNumber", []), 16)

    def mine(self, blocks: int) -> None:
        self.rpc("anvil_mine", [hex(blocks)])

    def eth_balance(self, address: str) -> int:
        return int(self.rpc("eth_getBalance", [address, "latest"]), 16)

    def advance_to(self, poker: Any, rid: int, stages: set[Stage], tries: int = 10) -> None:
        """Mine past deadlines until round ``rid`` reaches one of ``stages`` (``scripted_round.wait_for_stage``
        in fewer round trips: the head and the round are read in one batch)."""
        for _ in range(tries):
            head, call = self.lean.batch([("eth_blockNumber", []), ("eth_call", [
                {"to": self.address, "data": self.encode("round", [rid])}, "latest"])])
            (r, _), = [abi_decode(self._functions["round"][2], bytes.fromhex(call[2:]))]
            stage, deadline = Stage(r[0]), r[1]
            if stage in stages:
                return
            block = int(head, 16)
            if block < deadline:
                self.mine(deadline - block)  # the next transaction lands in the block after the deadline
            self.advance(poker, rid)
        raise RuntimeError(f"round {rid} is stuck in stage {self.round(rid)['stage']!r}, wanted {sorted(stages)}")

    def commit_output_for(self, node: Any, rid: int, output: str, cost: Cost) -> bytes:
        """Commit ``output``/``cost`` for ``node``; returns the salt to reveal with."""
        salt = new_salt()
        self.commit_output(node, rid, output_commitment(self.chain_id, self.address, rid, node.address,
                                                        output, cost, salt))
        return salt

    def commit_scores_for(self, evaluator: Any, rid: int, scores: list[int], cost: Cost) -> bytes:
        """Commit ``scores``/``cost`` for ``evaluator``; returns the salt to reveal with."""
        salt = new_salt()
        self.commit_scores(evaluator, rid, scores_commitment(self.chain_id, self.address, rid,
                                                             evaluator.address, scores, cost, salt))
        return salt


def default_output(node: str) -> str:
    return f"answer from {node[2:8]}"


DEFAULT_COST = Cost(latency_ms=1_000, tokens=10, memory_mb=1_000)
DEFAULT_EVAL_COST = Cost(latency_ms=100, tokens=200, memory_mb=300)


@dataclass
class Sealed:
    """What a node committed to, kept to reveal it later."""

    payload: Any  # output text (inference) or score list (evaluator)
    cost: Cost
    salt: bytes


class RoundPlay:
    """One round driven through ``FastClient``: the setup of a test, not the call under test."""

    def __init__(self, client: FastClient, requester: Any, rid: int, budget: int, opened_block: int,
                 task_hash: bytes = ZERO32, reference: str | None = None,
                 reference_salt: bytes = REFERENCE_SALT) -> None:
        self.client, self.requester, self.rid, self.budget = client, requester, rid, budget
        self.opened_block = opened_block
        self.task_hash, self.reference, self.reference_salt = task_hash, reference, reference_salt
        self.outputs: dict[str, Sealed] = {}
        self.scores: dict[str, Sealed] = {}
        self.revealed: list[str] = []  # inference nodes in reveal order
        self.reference_revealed = False

    def commit(self, node: Any, output: str | None = None, cost: Cost = DEFAULT_COST) -> Sealed:
        output = default_output(node.address) if output is None else output
        salt = self.client.commit_output_for(node, self.rid, output, cost)
        self.outputs[node.address] = Sealed(output, cost, salt)
        return self.outputs[node.address]

    def reveal(self, node: Any) -> None:
        e = self.outputs[node.address]
        self.client.reveal_output(node, self.rid, e.payload, e.cost, e.salt)
        self.revealed.append(node.address)

    def reveal_reference(self) -> None:
        self.client.reveal_reference(self.requester, self.rid, self.task_hash, self.reference, self.reference_salt)
        self.reference_revealed = True

    def events(self, *names: str) -> list[dict]:
        return self.client.events(from_block=self.opened_block, names=names or None, round_id=self.rid)

    def committee(self) -> list[str]:
        """The drawn members in draw order (empty before the draw)."""
        drawn = self.events("CommitteeDrawn")
        return list(drawn[-1]["args"]["members"]) if drawn else []

    def revealed_nodes(self) -> list[str]:
        """Revealed inference nodes in score order (ascending address)."""
        return by_address(self.revealed)

    def commit_scores(self, member: Any, scores: list[int], cost: Cost = DEFAULT_EVAL_COST) -> Sealed:
        salt = self.client.commit_scores_for(member, self.rid, list(scores), cost)
        self.scores[member.address] = Sealed(list(scores), cost, salt)
        return self.scores[member.address]

    def reveal_scores(self, member: Any) -> None:
        e = self.scores[member.address]
        self.client.reveal_scores(member, self.rid, e.payload, e.cost, e.salt)

    def advance_to(self, *stages: Stage) -> None:
        self.client.advance_to(self.requester, self.rid, set(stages))

    def stage(self) -> Stage:
        return Stage(self.client.round(self.rid)["stage"])

    def evidence(self):
        return self.client.evidence(self.rid, from_block=self.opened_block)

    def settlement(self) -> tuple:
        """The ``Settlement`` struct ``settle`` takes, built from the round's events."""
        return self.evidence().settlement()

    def settle(self) -> None:
        self.client.settle(self.requester, self.rid, self.evidence())

    def salts(self) -> list[bytes]:
        """The salts the committee seed mixes: every revealed output's, and the reference's if revealed."""
        return [self.outputs[a].salt for a in self.revealed] + ([self.reference_salt] if self.reference_revealed
                                                                else [])

    def predicted_committee(self) -> list[str]:
        """The committee ``oracle.protocol.sortition`` draws for this round (see ``predicted_committee``)."""
        return predicted_committee(self.client, self.rid, self.salts(), self.opened_block)


def land_next_tx_at(client: FastClient, block: int) -> None:
    """Mine empty blocks so that the next transaction is mined in block ``block``."""
    gap = block - 1 - client.block_number()
    assert gap >= 0, f"block {block} is already past (head is {client.block_number()})"
    if gap:
        client.mine(gap)


# ------------------------------------------------------------------ the committee draw


def draw_candidates(client: FastClient, rid: int, block: int | str = "latest") -> list[Candidate]:
    """Every evaluator of the set at ``block`` with its ``oracle.protocol.sortition.draw_weight`` for round ``rid``,
    computed from the chain's state there (stake, activeAt, recentAt, recentStake) and the round's
    opening block and parameters."""
    r = client.round(rid)
    min_stake = client.params(r["params_version"]).min_stake
    (evaluator_set,) = client.views([("evaluatorSet", [])], block=block)
    state = client.views([("nodes", [e]) for e in evaluator_set] + [("recentStake", [e]) for e in evaluator_set],
                         block=block)
    candidates = []
    for i, e in enumerate(evaluator_set):
        n, recent = client._node(state[i]), state[len(evaluator_set) + i]
        candidates.append(Candidate(e, draw_weight(n["stake"], n["active_at"], n["recent_at"], recent,
                                                   r["opened_at"], min_stake)))
    return candidates


def predicted_committee(client: FastClient, rid: int, salts: Sequence[bytes], from_block: int = 0) -> list[str]:
    """``oracle.protocol.sortition.draw`` over the chain's state in the block of round ``rid``'s draw and the salts
    revealed in it (outputs' and reference's): the committee the contract must have drawn, in draw order.
    Also checks that the round stored the XOR of those salts and that the event's seed is its
    ``round_seed``."""
    (drawn,) = client.events(from_block=from_block, names=["CommitteeDrawn"], round_id=rid)
    r = client.round(rid)
    accumulator = mix_salts(salts)
    assert r["seed"] == accumulator, "the round's seed is not the XOR of the revealed salts"
    seed = round_seed(client.chain_id, client.address, rid, accumulator)
    assert bytes(drawn["args"]["seed"]) == seed
    # The state after the draw's block is the state the draw read: the draw changes only pendingRounds,
    # and each transaction is mined in its own block.
    return draw(seed, draw_candidates(client, rid, drawn["block"]), r["committee_size"])


# ------------------------------------------------------------------ settlement against the model


def chain_settlement(events: list[dict], rid: int) -> Settlement:
    """What round ``rid``'s settle credited, from its events, as the reference model's ``Settlement``."""
    inference, evaluators, slashes, compensation = [], [], [], []
    paid = refund = None
    for ev in events:
        a = ev["args"]
        if a.get("roundId") != rid:
            continue
        if ev["event"] == "InferencePaid":
            inference.append(InferencePayout(a["node"], a["quality"], a["cost"], a["reward"], a["amount"]))
        elif ev["event"] == "EvaluatorPaid":
            evaluators.append(EvaluatorPayout(a["evaluator"], a["agreement"], a["cost"], a["reward"], a["amount"]))
        elif ev["event"] == "Slashed":
            slashes.append((a["node"], a["amount"]))
        elif ev["event"] == "Compensated":
            compensation.append((a["node"], a["amount"]))
        elif ev["event"] == "RoundSettled":
            paid, refund = a["paid"], a["refund"]
    assert paid is not None, f"round {rid} did not settle"
    return Settlement(tuple(inference), tuple(evaluators), tuple(slashes), paid, refund, tuple(compensation))


def input_from_events(events: list[dict], rid: int, params: Params, stakes: dict[str, int]) -> RoundInput:
    """The reference model's input for round ``rid``, from its events alone (``stakes``: each node's
    stake when the settlement ran, what a slash is capped at)."""
    opened = None
    committed, revealed, members, score_commits, cards = [], {}, [], set(), {}
    reference_revealed = False
    for ev in events:
        a, name = ev["args"], ev["event"]
        if a.get("roundId") != rid:
            continue
        if name == "RoundOpened":
            opened = a
        elif name == "OutputCommitted":
            committed.append(a["node"])
        elif name == "OutputRevealed":
            c = a["cost"]
            revealed[a["node"]] = Cost(c["latencyMs"], c["tokens"], c["memoryMb"])
        elif name == "ReferenceRevealed":
            reference_revealed = True
        elif name == "CommitteeDrawn":
            members = list(a["members"])
        elif name == "ScoresCommitted":
            score_commits.add(a["evaluator"])
        elif name == "ScoresRevealed":
            c = a["cost"]
            cards[a["evaluator"]] = (tuple(a["scores"]), Cost(c["latencyMs"], c["tokens"], c["memoryMb"]))
    assert opened is not None, f"round {rid} has no RoundOpened event in range"
    return RoundInput(
        budget=opened["inferencePool"] + opened["evaluatorPool"], slots=opened["slots"],
        committee_size=opened["committeeSize"],
        outputs=tuple(Output(n, normalised_cost(revealed[n], params.inference_cost)) for n in by_address(revealed)),
        committee=tuple(Evaluation(m, m in score_commits, cards[m][0] if m in cards else None,
                                   normalised_cost(cards[m][1], params.evaluator_cost) if m in cards else 0)
                        for m in by_address(members)),
        unrevealed_committers=tuple(by_address(set(committed) - set(revealed))),
        stakes=dict(stakes),
        reference_withheld=bytes(opened["referenceCommitment"]) != ZERO32 and not reference_revealed,
    )


def _withheld_if_outputs(r: RoundInput) -> RoundInput:
    """``r`` with the reference counted as withheld only if outputs were revealed (the ledger folds that
    in; the model applies it itself: the same settlement either way)."""
    return replace(r, reference_withheld=r.reference_withheld and bool(r.outputs))


def check_settled(client: FastClient, rid: int, stakes: dict[str, int], from_block: int = 0,
                  expected_input: RoundInput | None = None) -> tuple[Settlement, RoundInput]:
    """Asserts that round ``rid``'s settlement credited exactly what ``oracle.protocol.reward.settle`` says, to the
    wei: every payout, slash, compensation, the paid total and the refund, in the contract's order. The
    model's input is read from the round's events; a test that knows what each node did passes it as
    ``expected_input`` too, and the events must say the same. Returns (settlement, input)."""
    events = client.events(from_block=from_block, round_id=rid)
    (opened,) = [ev["args"] for ev in events if ev["event"] == "RoundOpened"]
    params = client.params(opened["paramsVersion"])
    got_input = input_from_events(events, rid, params, stakes)
    if expected_input is not None:
        assert got_input == expected_input, f"round {rid}: the events say {got_input}, the test did {expected_input}"
    got = chain_settlement(events, rid)
    want = model_settle(got_input, params)
    assert got == want, f"round {rid}: chain {got} != model {want}"
    assert got.paid + got.refund == got_input.budget
    # The ledger (what `poq payouts` and the explorer read) folds the same events to the same round.
    record = build_rounds(events, client.params)[rid]
    assert _withheld_if_outputs(round_input(record, params, stakes)) == _withheld_if_outputs(got_input)
    assert check_against_reference(record, params, stakes) == []
    return got, got_input


def credits_of(settlement: Settlement, owner: str, requester: str) -> dict[str, int]:
    """Wei a settlement adds to each account's withdrawable balance (slashes go to the owner)."""
    credited: dict[str, int] = {}
    for node, amount in ([(p.node, p.amount) for p in settlement.inference + settlement.evaluators]
                         + list(settlement.compensation) + [(owner, a) for _, a in settlement.slashes]
                         + [(requester, settlement.refund)]):
        credited[node] = credited.get(node, 0) + amount
    return credited
