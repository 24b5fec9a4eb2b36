"""Helpers shared by the contract tests: who plays which role, and a fast client for bulk rounds.

ape's own transactions cost about 150 ms each here (gas estimation, pure-Python
signing, a dozen RPCs, a call trace on every revert), so test setup and the
property and invariant tests, which send thousands, talk to the same Anvil that
ape started through ``FastClient``: the project's ``PoQClient`` (commitments,
event decoding, the ledger) sending from Anvil's unlocked dev accounts with
``eth_sendTransactionSync``, one round trip of about 5 ms. The calls a test is
about go through ape.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

import ape
import requests
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import function_abi_to_4byte_selector, to_checksum_address
from eth_utils.abi import get_abi_input_types, get_abi_output_types
from web3 import HTTPProvider, Web3

from oracle.chain import ContractRevert, PoQClient, decode_revert
from oracle.commitments import new_salt, output_commitment, scores_commitment
from oracle.rounds import wait_for_stage
from oracle.params import Role, Stage
from oracle.reward import Cost

# Role of each of the 20 test accounts (ape-config.yaml: number_of_accounts: 20).
OWNER = 0
REQUESTER = 1
INFERENCE = range(2, 10)  # 8 inference nodes: n goes up to 8
EVALUATORS = range(10, 16)  # 6 evaluators: K goes up to 5 with one to spare
OUTSIDER = 19  # registered as nothing


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


class FastClient(PoQClient):
    """``PoQClient`` that sends through Anvil's unlocked accounts over bare JSON-RPC.

    Encoding, views and sending skip web3's per-call ABI lookup and middleware (about
    10 ms a call, most of a round's time); events and the rest are ``PoQClient``'s.
    Test-only: it relies on Anvil holding the dev keys and mining each transaction at once.
    """

    def __init__(self, rpc_url: str, address: str, abi: list) -> None:
        super().__init__(Web3(HTTPProvider(rpc_url)), address, abi)
        self.url = rpc_url
        self.session = requests.Session()
        self._functions = {
            f["name"]: (function_abi_to_4byte_selector(f), get_abi_input_types(f), get_abi_output_types(f), f)
            for f in abi if f["type"] == "function"}

    @classmethod
    def for_contract(cls, chain: Any, contract: Any) -> "FastClient":
        """A client of ape's ``contract`` on ape's chain, with the ABI ape compiled."""
        abi = [entry.model_dump(mode="json", by_alias=True) for entry in contract.contract_type.abi]
        return cls(chain.provider.uri, contract.address, abi)

    def rpc(self, method: str, params: list) -> Any:
        reply = self.session.post(self.url, json={"jsonrpc": "2.0", "id": 1, "method": method,
                                                  "params": params}, timeout=30).json()
        if "error" in reply:
            raise RuntimeError(f"{method} failed: {reply['error']}")
        return reply["result"]

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
        """The custom error a mined, failed transaction reverted with (from its call trace: a
        replay with ``eth_call`` would see another block number and ``prevrandao``)."""
        trace = self.rpc("debug_traceTransaction", [receipt["transactionHash"], {"tracer": "callTracer"}])
        data = trace.get("output")
        decoded = decode_revert(self.abi, data) if data else None
        return ContractRevert(*(decoded or ("Reverted", (trace.get("error"),))), fn)

    def views(self, calls: list[tuple[str, list]]) -> list[Any]:
        """Several view calls in one JSON-RPC batch, decoded (single outputs unwrapped)."""
        batch = [{"jsonrpc": "2.0", "id": i, "method": "eth_call",
                  "params": [{"to": self.address, "data": self.encode(fn, args)}, "latest"]}
                 for i, (fn, args) in enumerate(calls)]
        replies = sorted(self.session.post(self.url, json=batch, timeout=30).json(), key=lambda r: r["id"])
        out = []
        for (fn, args), reply in zip(calls, replies, strict=True):
            if "error" in reply:
                raise RuntimeError(f"{fn}{tuple(args)} failed: {reply['error']}")
            values = abi_decode(self._functions[fn][2], bytes.fromhex(reply["result"][2:]))
            out.append(values[0] if len(values) == 1 else values)
        return out

    def view(self, fn: str, *args: Any) -> Any:
        return self.views([(fn, list(args))])[0]

    # PoQClient's views, through ``view``.

    def round(self, round_id: int) -> dict:
        r, expired = self.view("round", round_id)
        fields = self._functions["round"][3]["outputs"][0]["components"]
        return {**{_snake(f["name"]): v for f, v in zip(fields, r)}, "expired": expired}

    def committee(self, round_id: int) -> list[str]:
        return [to_checksum_address(a) for a in self.view("committee", round_id)]

    def revealed_nodes(self, round_id: int) -> list[str]:
        return [to_checksum_address(a) for a in self.view("revealedNodes", round_id)]

    def balance_of(self, address: str) -> int:
        return self.view("balances", address)

    def node(self, address: str) -> dict:
        role, pending, exitable_at, stake = self.view("nodes", address)
        return {"role": Role(role), "pending_rounds": pending, "exitable_at": exitable_at, "stake": stake}

    def next_round_id(self) -> int:
        return self.view("nextRoundId")

    def owed_and_nodes(self, addresses: list[str]) -> tuple[dict[str, int], dict[str, tuple]]:
        """Withdrawable balance and ``nodes()`` entry (role, pendingRounds, exitableAt, stake) of each
        address, read in one batch."""
        values = self.views([("balances", [a]) for a in addresses] + [("nodes", [a]) for a in addresses])
        return dict(zip(addresses, values[:len(addresses)])), dict(zip(addresses, values[len(addresses):]))

    def block_number(self) -> int:
        return int(self.rpc("eth_blockNumber", []), 16)

    def mine(self, blocks: int) -> None:
        self.rpc("anvil_mine", [hex(blocks)])

    def eth_balance(self, address: str) -> int:
        return int(self.rpc("eth_getBalance", [address, "latest"]), 16)

    def advance_to(self, poker: Any, rid: int, stages: set[Stage]) -> None:
        """Mine past deadlines until round ``rid`` reaches one of ``stages``."""
        wait_for_stage(self, poker, rid, stages, tries=10)

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


def _snake(name: str) -> str:
    """``committeeSize`` -> ``committee_size``: PoQClient's keys for the Round struct."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def default_output(node: str) -> str:
    return f"answer from {node[2:8]}"


DEFAULT_COST = Cost(latency_ms=1_000, tokens=10, memory_mb=1_000)
DEFAULT_EVAL_COST = Cost(latency_ms=100, tokens=200, memory_mb=300)


@dataclass
class Entry:
    """What a node committed to, kept to reveal it later."""

    payload: Any  # output text (inference) or score list (evaluator)
    cost: Cost
    salt: bytes


class RoundPlay:
    """One round driven through ``FastClient``: the setup of a test, not the call under test."""

    def __init__(self, client: FastClient, requester: Any, rid: int, budget: int, opened_block: int) -> None:
        self.client, self.requester, self.rid, self.budget = client, requester, rid, budget
        self.opened_block = opened_block
        self.outputs: dict[str, Entry] = {}
        self.scores: dict[str, Entry] = {}

    def commit(self, node: Any, output: str | None = None, cost: Cost = DEFAULT_COST) -> Entry:
        output = default_output(node.address) if output is None else output
        salt = self.client.commit_output_for(node, self.rid, output, cost)
        self.outputs[node.address] = Entry(output, cost, salt)
        return self.outputs[node.address]

    def reveal(self, node: Any) -> None:
        e = self.outputs[node.address]
        self.client.reveal_output(node, self.rid, e.payload, e.cost, e.salt)

    def committee(self) -> list[str]:
        return self.client.committee(self.rid)

    def commit_scores(self, member: Any, scores: list[int], cost: Cost = DEFAULT_EVAL_COST) -> Entry:
        salt = self.client.commit_scores_for(member, self.rid, list(scores), cost)
        self.scores[member.address] = Entry(list(scores), cost, salt)
        return self.scores[member.address]

    def reveal_scores(self, member: Any) -> None:
        e = self.scores[member.address]
        self.client.reveal_scores(member, self.rid, e.payload, e.cost, e.salt)

    def advance_to(self, *stages: Stage) -> None:
        self.client.advance_to(self.requester, self.rid, set(stages))

    def stage(self) -> Stage:
        return Stage(self.client.round(self.rid)["stage"])

    def settle(self) -> None:
        self.client.settle(self.requester, self.rid)


def land_next_tx_at(client: FastClient, block: int) -> None:
    """Mine empty blocks so that the next transaction is mined in block ``block``."""
    gap = block - 1 - client.block_number()
    assert gap >= 0, f"block {block} is already past (head is {client.block_number()})"
    if gap:
        client.mine(gap)
