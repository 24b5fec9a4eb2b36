"""The PoQ contract over JSON-RPC: deploy, connect, send, read events, decode reverts.

One client for the CLI, the daemons, the simulator and the explorer. Keys sign
locally (``eth_account``), nonces are tracked per account so that several
senders share one Anvil without stuck transactions, and a revert comes back as
``ContractRevert`` with the contract's custom error decoded by name.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from eth_abi import decode as abi_decode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import event_abi_to_log_topic, function_signature_to_4byte_selector, to_checksum_address
from web3 import HTTPProvider, Web3
from web3.exceptions import ContractCustomError, ContractLogicError
from web3.logs import DISCARD

from oracle.artifacts import poq_artifact
from oracle.devnet import DEV_MNEMONIC
from oracle.params import Params, Role
from oracle.reward import Cost

Account.enable_unaudited_hdwallet_features()

# Most blocks asked of eth_getLogs in one request: public RPCs cap the range (often at 10k blocks or
# fewer), so ``PoQClient.events`` reads longer ranges in chunks of this size.
MAX_LOG_RANGE = 2_000


def dev_account(index: int) -> LocalAccount:
    """Anvil's funded development account ``index`` (from its well-known mnemonic)."""
    return Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


class ChainError(RuntimeError):
    """The RPC, chain id or contract address is not what the command was told; the message names it."""


class ContractRevert(RuntimeError):
    """A call reverted with a custom error of PoQ (``name`` and decoded ``args``)."""

    def __init__(self, name: str, args: tuple, call: str) -> None:
        self.name, self.args_, self.call = name, args, call
        super().__init__(f"{call} reverted: {name}{args}")


def _error_table(abi: list) -> dict[bytes, tuple[str, list[str]]]:
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
    """The ``PoQ.Task`` struct a requester opens a round with."""

    task_hash: bytes
    uri: str
    kind: str
    slots: int
    committee_size: int
    reference_commitment: bytes = b"\x00" * 32

    def as_tuple(self) -> tuple:
        return (self.task_hash, self.uri, self.kind, self.slots, self.committee_size,
                self.reference_commitment)


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

    # ------------------------------------------------------------------ setup

    @staticmethod
    def web3(rpc_url: str, timeout: float = 30.0) -> Web3:
        w3 = Web3(HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}))
        try:
            w3.eth.chain_id
        except Exception as exc:  # noqa: BLE001 - any transport error means unreachable
            raise ChainError(f"RPC {rpc_url} is unreachable ({exc.__class__.__name__}): "
                             "start a devnet with `poq devnet up` or pass the right --rpc") from exc
        return w3

    @classmethod
    def connect(cls, rpc_url: str, address: str, expected_chain_id: int | None = None,
                timeout: float = 30.0) -> "PoQClient":
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
    def deploy(cls, w3: Web3, deployer: LocalAccount, params: Params) -> "PoQClient":
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

    def _next_nonce(self, address: str) -> int:
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

    def open_round(self, requester: LocalAccount, task: TaskSpec, budget: int) -> int:
        receipt = self.transact(requester, "openRound", task.as_tuple(), value=budget)
        (event,) = self.contract.events.RoundOpened().process_receipt(receipt, errors=DISCARD)
        return event["args"]["roundId"]

    def commit_output(self, node: LocalAccount, round_id: int, commitment: bytes) -> Any:
        return self.transact(node, "commitOutput", round_id, commitment)

    def reveal_output(self, node: LocalAccount, round_id: int, output: str, cost: Cost, salt: bytes) -> Any:
        return self.transact(node, "revealOutput", round_id, output, cost.as_tuple(), salt)

    def reveal_reference(self, requester: LocalAccount, round_id: int, reference: str, salt: bytes) -> Any:
        return self.transact(requester, "revealReference", round_id, reference, salt)

    def commit_scores(self, evaluator: LocalAccount, round_id: int, commitment: bytes) -> Any:
        return self.transact(evaluator, "commitScores", round_id, commitment)

    def reveal_scores(self, evaluator: LocalAccount, round_id: int, scores: Sequence[int], cost: Cost,
                      salt: bytes) -> Any:
        return self.transact(evaluator, "revealScores", round_id, list(scores), cost.as_tuple(), salt)

    def advance(self, account: LocalAccount, round_id: int) -> Any:
        return self.transact(account, "advance", round_id)

    def settle(self, account: LocalAccount, round_id: int) -> Any:
        return self.transact(account, "settle", round_id)

    def withdraw(self, account: LocalAccount) -> Any:
        return self.transact(account, "withdraw")

    # ------------------------------------------------------------------ views

    def round(self, round_id: int) -> dict:
        r, expired = self.contract.functions.round(round_id).call()
        keys = ("requester", "stage", "slots", "committee_size", "commits", "reveals", "score_commits",
                "score_reveals", "reference_revealed", "params_version", "deadline", "inference_pool",
                "evaluator_pool", "task_hash", "reference_commitment")
        return {**dict(zip(keys, r)), "expired": expired}

    def committee(self, round_id: int) -> list[str]:
        return self.contract.functions.committee(round_id).call()

    def revealed_nodes(self, round_id: int) -> list[str]:
        return self.contract.functions.revealedNodes(round_id).call()

    def submission(self, round_id: int, node: str) -> dict:
        """An inference node's entry in a round (zero commitment = not committed)."""
        commitment, output_hash, cost, revealed = self.contract.functions.submissions(
            round_id, to_checksum_address(node)).call()
        return {"commitment": bytes(commitment), "output_hash": bytes(output_hash), "cost": cost,
                "revealed": revealed}

    def evaluation(self, round_id: int, evaluator: str) -> dict:
        """An evaluator's entry in a round: committee membership, commitment, reveal."""
        commitment, cost, member, revealed, scores = self.contract.functions.evaluation(
            round_id, to_checksum_address(evaluator)).call()
        return {"commitment": bytes(commitment), "cost": cost, "member": member, "revealed": revealed,
                "scores": list(scores)}

    def balance_of(self, address: str) -> int:
        return self.contract.functions.balances(to_checksum_address(address)).call()

    def node(self, address: str) -> dict:
        role, pending, exitable_at, stake = self.contract.functions.nodes(to_checksum_address(address)).call()
        return {"role": Role(role), "pending_rounds": pending, "exitable_at": exitable_at, "stake": stake}

    def next_round_id(self) -> int:
        return self.contract.functions.nextRoundId().call()

    # ------------------------------------------------------------------ events

    def events(self, from_block: int = 0, to_block: int | str = "latest",
               names: Iterable[str] | None = None, round_id: int | None = None) -> list[dict]:
        """Every PoQ event in the block range, decoded, in chain order; only round ``round_id``'s if given.

        The range is read ``MAX_LOG_RANGE`` blocks per ``eth_getLogs`` request, here and only here, so that
        no caller fails on a provider that caps the range once the chain is long. A block tag such as
        ``"latest"`` is resolved to its number first, so the chunks end at one fixed block.
        """
        if not isinstance(to_block, int):
            to_block = self.w3.eth.get_block(to_block)["number"]
        topics = None
        if round_id is not None:  # every round event indexes roundId first
            topics = [None, "0x" + round_id.to_bytes(32, "big").hex()]
        wanted = set(names) if names else None
        out = []
        for start in range(from_block, to_block + 1, MAX_LOG_RANGE):
            query: dict = {"address": self.address, "fromBlock": start,
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
