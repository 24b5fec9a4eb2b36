"""The PoQ contract over JSON-RPC: deploy, connect, send, read events, decode reverts.

One client for the CLI, the daemons, the simulator and the explorer. Keys sign
locally (``eth_account``), nonces are tracked per account so that several
senders share one Anvil without stuck transactions, and a revert comes back as
``ContractRevert`` with the contract's custom error decoded by name.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import decode as abi_decode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress, HexStr
from eth_utils import event_abi_to_log_topic, function_signature_to_4byte_selector, to_checksum_address
from web3 import HTTPProvider, Web3
from web3.exceptions import ContractCustomError, ContractLogicError
from web3.logs import DISCARD
from web3.types import BlockParams, FilterParams

from oracle.chain.anvil import DEV_MNEMONIC
from oracle.chain.artifacts import poq_artifact
from oracle.protocol.params import Entry, Params, Role
from oracle.protocol.reward import Cost

Account.enable_unaudited_hdwallet_features()

# Most blocks asked of eth_getLogs in one request: public RPCs cap the range (often at 10k blocks or
# fewer), so ``PoQClient.events`` reads longer ranges in chunks of this size.
MAX_LOG_RANGE = 2_000


_EVIDENCE_EVENTS = ("OutputCommitted", "OutputRevealed", "CommitteeDrawn", "ScoresRevealed")


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def _outputs_of(abi: list, fn: str) -> list[dict]:
    (item,) = [i for i in abi if i.get("type") == "function" and i["name"] == fn]
    return item["outputs"]


@functools.cache
def _fields(fn: str) -> tuple[str, ...]:
    """Field names of the struct view ``fn`` returns, read from the compiled ABI (never kept by hand)."""
    outputs = _outputs_of(poq_artifact().abi, fn)
    if outputs[0]["type"] == "tuple":
        outputs = outputs[0]["components"]
    return tuple(_snake(o["name"]) for o in outputs)


def dev_account(index: int) -> LocalAccount:
    """Anvil's funded development account ``index`` (from its well-known mnemonic)."""
    return Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


# A request slower than this (seconds) is logged: a stalled RPC shows in the logs as it happens.
SLOW_RPC_SECONDS = 3.0
rpc_log = logging.getLogger("poq.rpc")


class TimedHTTPProvider(HTTPProvider):
    """``HTTPProvider`` that logs every request slower than ``SLOW_RPC_SECONDS``, failed or not."""

    def make_request(self, method, params):
        start = time.monotonic()
        try:
            return super().make_request(method, params)
        finally:
            took = time.monotonic() - start
            if took > SLOW_RPC_SECONDS:
                rpc_log.warning("RPC %s took %.1fs (%s)", method, took, self.endpoint_uri)


class ChainError(RuntimeError):
    """The RPC, chain id or contract address is not what the command was told; the message names it."""


class ContractRevert(RuntimeError):
    """A call reverted with a custom error of PoQ (``name`` and decoded ``args``)."""

    def __init__(self, name: str, args: tuple, call: str) -> None:
        self.name, self.args_, self.call = name, args, call
        super().__init__(f"{call} reverted: {name}{args}")


_ERROR_TABLES: dict[int, tuple[list, dict[bytes, tuple[str, list[str]]]]] = {}


def _error_table(abi: list) -> dict[bytes, tuple[str, list[str]]]:
    """Selector -> (name, argument types) of every custom error in ``abi``, built once per ABI object."""
    cached = _ERROR_TABLES.get(id(abi))
    if cached is None or cached[0] is not abi:  # the list itself is kept, so its id is never reused meanwhile
        cached = (abi, _build_error_table(abi))
        _ERROR_TABLES[id(abi)] = cached
    return cached[1]


def _build_error_table(abi: list) -> dict[bytes, tuple[str, list[str]]]:
    table = {}
    for item in abi:
        if item["type"] == "error":
            types = [_abi_type(i) for i in item["inputs"]]
            sig = f"{item['name']}({','.join(types)})"
            table[function_signature_to_4byte_selector(sig)] = (item["name"], types)
    # OpenZeppelin's and Solidity's built-in ones, for completeness.
    table[function_signature_to_4byte_selector("Error(string)")] = ("Error", ["string"])
    table[function_signature_to_4byte_selector("Panic(uint256)")] = ("Panic", ["uint256"])
    return table


def _abi_type(param: dict) -> str:
    if param["type"].startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in param["components"]) + ")" + param["type"][5:]
    return param["type"]


def decode_revert(abi: list, data: str | bytes | None) -> tuple[str, tuple] | None:
    """(error name, args) of revert ``data`` against ``abi``, or None if unknown."""
    if not data:
        return None
    raw = bytes.fromhex(data[2:] if isinstance(data, str) and data.startswith("0x") else data) \
        if isinstance(data, str) else bytes(data)
    entry = _error_table(abi).get(raw[:4])
    if entry is None:
        return None
    name, types = entry
    return name, tuple(abi_decode(types, raw[4:]))


@dataclass(frozen=True)
class TaskSpec:
    """The ``PoQ.Task`` struct a requester opens a round with (less the parameter version it agrees to)."""

    task_hash: bytes
    uri: str
    kind: str
    slots: int
    committee_size: int
    reference_commitment: bytes = b"\x00" * 32

    def as_tuple(self, params_version: int) -> tuple:
        """The struct for a round under ``params_version``, which must be the contract's current one."""
        return (self.task_hash, self.uri, self.kind, self.slots, self.committee_size,
                self.reference_commitment, params_version)


def event_cost(value: Any) -> Cost:
    """A ``RewardMath.Cost`` as an event decodes it (web3 gives structs as mappings)."""
    return Cost(value["latencyMs"], value["tokens"], value["memoryMb"])


def by_address(addresses: Iterable[str]) -> list[str]:
    """``addresses`` in ascending numeric order: the order of settle's lists and of every score list."""
    return sorted(addresses, key=lambda a: int(a, 16))


@dataclass(frozen=True)
class RoundEvidence:
    """What a round's events say it did: the inputs ``settle`` takes, in the contract's order.

    ``outputs`` are the revealed inference nodes (ascending address, the order of every score list),
    ``silent`` those that committed and never revealed, ``committee`` the drawn members (ascending),
    ``cards`` each member's revealed (scores, cost), None where it did not reveal.
    """

    committed: tuple[str, ...]
    outputs: tuple[str, ...]
    silent: tuple[str, ...]
    committee: tuple[str, ...]
    cards: tuple[tuple[tuple[int, ...], Cost] | None, ...]
    texts: dict[str, str]
    costs: dict[str, Cost]

    def settlement(self) -> tuple:
        """The ``PoQ.Settlement`` struct for ``settle``."""
        cards = [(list(c[0]), c[1].as_tuple()) if c else ([], (0, 0, 0)) for c in self.cards]
        return (list(self.outputs), list(self.silent), list(self.committee), cards)


class PoQClient:
    """Typed access to one deployed PoQ contract."""

    def __init__(self, w3: Web3, address: str, abi: list | None = None) -> None:
        self.w3 = w3
        self.abi = abi if abi is not None else poq_artifact().abi
        self.address = to_checksum_address(address)
        self.contract = w3.eth.contract(address=self.address, abi=self.abi)
        self.chain_id = w3.eth.chain_id
        self._nonces: dict[str, int] = {}
        self._lock = threading.Lock()
        self._events = {event_abi_to_log_topic(e): e["name"] for e in self.abi if e["type"] == "event"}
        self._params: dict[int, Params] = {}

    # ------------------------------------------------------------------ setup

    @staticmethod
    def web3(rpc_url: str, timeout: float = 30.0) -> Web3:
        """A Web3 on ``rpc_url`` whose every request gives up after ``timeout`` seconds, checked reachable.

        web3's own retries are off (``exception_retry_configuration=None``): a caller that rides out
        faults (the daemons, ``node.retry``) is the one retry layer, so a dead RPC shows after ``timeout``
        seconds, not after five silent retries.
        """
        w3 = Web3(TimedHTTPProvider(rpc_url, request_kwargs={"timeout": timeout},
                                    exception_retry_configuration=None))
        try:
            _ = w3.eth.chain_id  # the first request: is anyone there?
        except Exception as exc:  # noqa: BLE001 - any transport error means unreachable
            raise ChainError(f"RPC {rpc_url} is unreachable ({exc.__class__.__name__}): "
                             "start a devnet with `poq devnet up` or pass the right --rpc") from exc
        return w3

    @classmethod
    def connect(cls, rpc_url: str, address: str, expected_chain_id: int | None = None,
                timeout: float = 30.0) -> PoQClient:
        """Connect to a deployed PoQ, checking the chain id and that the address holds PoQ's code.

        ``timeout`` bounds each RPC request (seconds): daemons use a short one so a hung RPC is retried.
        """
        w3 = cls.web3(rpc_url, timeout=timeout)
        chain_id = w3.eth.chain_id
        if expected_chain_id is not None and chain_id != expected_chain_id:
            raise ChainError(f"RPC {rpc_url} serves chain id {chain_id}, but the deployment is for "
                             f"chain id {expected_chain_id}: point --rpc at the right chain")
        if not Web3.is_address(address):
            raise ChainError(f"{address!r} is not an address")
        code = w3.eth.get_code(to_checksum_address(address))
        artifact = poq_artifact()
        if len(code) == 0:
            raise ChainError(f"no contract at {address} on chain {chain_id}: redeploy with `poq devnet up`")
        # Immutable-free contract: the runtime code must equal the compiled one up to the metadata tail.
        if bytes(code)[:64] != bytes.fromhex(artifact.deployed_bytecode[2:])[:64]:
            raise ChainError(f"the contract at {address} is not PoQ (its code differs from contracts/PoQ.sol)")
        return cls(w3, address, artifact.abi)

    @classmethod
    def deploy(cls, w3: Web3, deployer: LocalAccount, params: Params) -> PoQClient:
        artifact = poq_artifact()
        factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        tx = factory.constructor(params.as_contract_tuple()).build_transaction(
            {"from": deployer.address, "nonce": w3.eth.get_transaction_count(deployer.address, "pending"),
             "chainId": w3.eth.chain_id})
        receipt = cls._sign_send_wait(w3, deployer, tx)
        return cls(w3, receipt["contractAddress"], artifact.abi)

    # ------------------------------------------------------------------ transactions

    @staticmethod
    def _sign_send_wait(w3: Web3, account: LocalAccount, tx: dict) -> Any:
        signed = account.sign_transaction(tx)
        tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120, poll_latency=0.05)
        if receipt["status"] != 1:
            raise ContractRevert("Reverted", (), f"tx {tx_hash.hex()}")
        return receipt

    def _next_nonce(self, address: ChecksumAddress) -> int:
        with self._lock:
            if address not in self._nonces:
                self._nonces[address] = self.w3.eth.get_transaction_count(address, "pending")
            nonce = self._nonces[address]
            self._nonces[address] += 1
            return nonce

    def resync_nonce(self, address: str) -> None:
        with self._lock:
            self._nonces.pop(address, None)

    def transact(self, account: LocalAccount, fn: str, *args: Any, value: int = 0) -> Any:
        """Send ``fn(*args)`` from ``account`` and wait for its receipt; reverts raise ContractRevert."""
        call = getattr(self.contract.functions, fn)(*args)
        try:
            gas = call.estimate_gas({"from": account.address, "value": value})
        except (ContractCustomError, ContractLogicError) as exc:
            raise self._revert(exc, fn) from None
        tx = call.build_transaction({
            "from": account.address, "value": value, "gas": gas * 12 // 10 + 20_000,
            "nonce": self._next_nonce(account.address), "chainId": self.chain_id,
        })
        try:
            return self._sign_send_wait(self.w3, account, tx)
        except ContractRevert:
            # Mined but reverted (the state moved between estimate and inclusion, e.g. a deadline
            # passed): replay the call on the latest state to name the contract's custom error.
            self.resync_nonce(account.address)
            try:
                call.call({"from": account.address, "value": value})
            except (ContractCustomError, ContractLogicError) as exc:
                raise self._revert(exc, fn) from None
            raise
        except Exception:
            self.resync_nonce(account.address)
            raise

    def _revert(self, exc: Exception, fn: str) -> ContractRevert:
        data = getattr(exc, "data", None)
        if isinstance(data, dict):
            data = data.get("data")
        decoded = decode_revert(self.abi, data) if isinstance(data, (str, bytes)) else None
        if decoded:
            return ContractRevert(decoded[0], decoded[1], fn)
        return ContractRevert(type(exc).__name__, (str(exc),), fn)

    # ------------------------------------------------------------------ calls

    def register(self, account: LocalAccount, role: Role, stake: int) -> Any:
        return self.transact(account, "register", int(role), value=stake)

    def open_round(self, requester: LocalAccount, task: TaskSpec, budget: int,
                   params_version: int | None = None) -> int:
        """Open a round under ``params_version`` (default: the current one, read now); returns its id.

        A requester that checked the parameters should pass the version it checked: the contract then
        refuses the round (``ParamsChanged``) if the owner changed them in between.
        """
        version = self.params_version() if params_version is None else params_version
        receipt = self.transact(requester, "openRound", task.as_tuple(version), value=budget)
        (event,) = self.contract.events.RoundOpened().process_receipt(receipt, errors=DISCARD)
        return event["args"]["roundId"]

    def commit_output(self, node: LocalAccount, round_id: int, commitment: bytes) -> Any:
        return self.transact(node, "commitOutput", round_id, commitment)

    def reveal_output(self, node: LocalAccount, round_id: int, output: str, cost: Cost, salt: bytes) -> Any:
        return self.transact(node, "revealOutput", round_id, output, cost.as_tuple(), salt)

    def reveal_reference(self, requester: LocalAccount, round_id: int, task_hash: bytes, reference: str,
                         salt: bytes) -> Any:
        return self.transact(requester, "revealReference", round_id, task_hash, reference, salt)

    def commit_scores(self, evaluator: LocalAccount, round_id: int, commitment: bytes) -> Any:
        return self.transact(evaluator, "commitScores", round_id, commitment)

    def reveal_scores(self, evaluator: LocalAccount, round_id: int, scores: Sequence[int], cost: Cost,
                      salt: bytes) -> Any:
        return self.transact(evaluator, "revealScores", round_id, list(scores), cost.as_tuple(), salt)

    def advance(self, account: LocalAccount, round_id: int) -> Any:
        return self.transact(account, "advance", round_id)

    def settle(self, account: LocalAccount, round_id: int, evidence: RoundEvidence | None = None) -> Any:
        """Settle ``round_id`` with the lists its events give (read now unless ``evidence`` is passed)."""
        evidence = evidence if evidence is not None else self.evidence(round_id)
        return self.transact(account, "settle", round_id, evidence.settlement())

    def withdraw(self, account: LocalAccount) -> Any:
        return self.transact(account, "withdraw")

    # ------------------------------------------------------------------ views

    def round(self, round_id: int) -> dict:
        """The round's stored state (``PoQ.Round``, decoded from the ABI) and whether its deadline passed."""
        r, expired = self.contract.functions.round(round_id).call()
        out = dict(zip(_fields("round"), r, strict=True))
        inference_pool = out["budget"] * self.params(out["params_version"]).inference_share // 10**18 \
            if out["stage"] else 0
        return {**out, "inference_pool": inference_pool, "evaluator_pool": out["budget"] - inference_pool,
                "expired": expired}

    def params_version(self) -> int:
        return self.contract.functions.paramsVersion().call()

    def params(self, version: int) -> Params:
        """The parameter set of ``version`` (rounds keep the one they opened with); cached, it never changes."""
        cached = self._params.get(version)
        if cached is None:
            cached = self._params[version] = Params.from_contract_tuple(
                self.contract.functions.params(version).call())
        return cached

    def evidence(self, round_id: int, from_block: int = 0) -> RoundEvidence:
        """What round ``round_id``'s events say it did (see ``RoundEvidence``)."""
        committed: list[str] = []
        texts: dict[str, str] = {}
        costs: dict[str, Cost] = {}
        members: list[str] = []
        revealed_scores: dict[str, tuple[tuple[int, ...], Cost]] = {}
        for ev in self.events(from_block, names=_EVIDENCE_EVENTS, round_id=round_id):
            a = ev["args"]
            if ev["event"] == "OutputCommitted":
                committed.append(a["node"])
            elif ev["event"] == "OutputRevealed":
                texts[a["node"]] = a["output"]
                costs[a["node"]] = event_cost(a["cost"])
            elif ev["event"] == "CommitteeDrawn":
                members = list(a["members"])
            elif ev["event"] == "ScoresRevealed":
                revealed_scores[a["evaluator"]] = (tuple(a["scores"]), event_cost(a["cost"]))
        committee = by_address(members)
        return RoundEvidence(
            committed=tuple(committed), outputs=tuple(by_address(texts)),
            silent=tuple(by_address(set(committed) - set(texts))), committee=tuple(committee),
            cards=tuple(revealed_scores.get(m) for m in committee), texts=texts, costs=costs)

    def committee(self, round_id: int) -> list[str]:
        """The drawn committee in draw order (empty before the draw), from its ``CommitteeDrawn`` event."""
        events = self.events(names=["CommitteeDrawn"], round_id=round_id)
        return list(events[-1]["args"]["members"]) if events else []

    def revealed_nodes(self, round_id: int) -> list[str]:
        """Inference nodes that revealed in ``round_id``, in score-index order (ascending address)."""
        return by_address(ev["args"]["node"] for ev in self.events(names=["OutputRevealed"], round_id=round_id))

    def commitment(self, round_id: int, node: str, from_block: int = 0) -> bytes | None:
        """The commitment ``node`` sent in ``round_id`` (an output's or a committee member's), from its
        ``OutputCommitted`` / ``ScoresCommitted`` event; None if it sent none. Storage keeps only a
        state byte and low bits, so this is how a daemon checks the chain holds *its* commitment."""
        node = to_checksum_address(node)
        for ev in self.events(from_block, names=("OutputCommitted", "ScoresCommitted"), round_id=round_id):
            if ev["args"].get("node", ev["args"].get("evaluator")) == node:
                return bytes(ev["args"]["commitment"])
        return None

    def submission(self, round_id: int, node: str) -> dict:
        """An inference node's entry in a round: its ``Entry`` and, once revealed, its attested cost."""
        entry, cost = self.contract.functions.submission(round_id, to_checksum_address(node)).call()
        return {"entry": Entry(entry), "cost": Cost(*cost), "committed": entry >= Entry.COMMITTED,
                "revealed": entry == Entry.REVEALED}

    def evaluation(self, round_id: int, evaluator: str) -> dict:
        """An evaluator's entry in a round: ``Entry.NONE`` when not drawn, ``MEMBER`` drawn, then committed,
        revealed."""
        entry = Entry(self.contract.functions.evaluation(round_id, to_checksum_address(evaluator)).call())
        return {"entry": entry, "member": entry != Entry.NONE, "committed": entry >= Entry.COMMITTED,
                "revealed": entry == Entry.REVEALED}

    def balance_of(self, address: str) -> int:
        return self.contract.functions.balances(to_checksum_address(address)).call()

    def node(self, address: str) -> dict:
        """A node's record (``PoQ.Node``, decoded from the ABI)."""
        values = self.contract.functions.nodes(to_checksum_address(address)).call()
        out = dict(zip(_fields("nodes"), values, strict=True))
        return {**out, "role": Role(out["role"])}

    def block_hash(self, number: int) -> str:
        """The 0x hash of block ``number`` (what tells one deployment of a devnet from the next)."""
        return self.w3.eth.get_block(number)["hash"].to_0x_hex()

    def next_round_id(self) -> int:
        return self.contract.functions.nextRoundId().call()

    # ------------------------------------------------------------------ events

    def events(self, from_block: int = 0, to_block: int | BlockParams = "latest",
               names: Iterable[str] | None = None, round_id: int | None = None) -> list[dict]:
        """Every PoQ event in the block range, decoded, in chain order; only round ``round_id``'s if given.

        The range is read ``MAX_LOG_RANGE`` blocks per ``eth_getLogs`` request, here and only here, so that
        no caller fails on a provider that caps the range once the chain is long. A block tag such as
        ``"latest"`` is resolved to its number first, so the chunks end at one fixed block.
        """
        if not isinstance(to_block, int):
            to_block = self.w3.eth.get_block(to_block)["number"]
        topics: list[HexStr | None] | None = None
        if round_id is not None:  # every round event indexes roundId first
            topics = [None, HexStr("0x" + round_id.to_bytes(32, "big").hex())]
        wanted = set(names) if names else None
        out = []
        for start in range(from_block, to_block + 1, MAX_LOG_RANGE):
            query: FilterParams = {"address": self.address, "fromBlock": start,
                                   "toBlock": min(to_block, start + MAX_LOG_RANGE - 1)}
            if topics is not None:
                query["topics"] = topics
            for log in self.w3.eth.get_logs(query):
                name = self._events.get(bytes(log["topics"][0]))
                if name is None or (wanted and name not in wanted):
                    continue
                ev = getattr(self.contract.events, name)().process_log(log)
                out.append({"event": name, "args": dict(ev["args"]), "block": log["blockNumber"],
                            "tx": log["transactionHash"].to_0x_hex(), "log_index": log["logIndex"]})
        return out
