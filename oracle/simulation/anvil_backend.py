"""Settling simulated rounds on the real contract, on a local Anvil, checked to the wei.

Every round goes through ``openRound``, ``commitOutput``, ``revealOutput``,
``commitScores``, ``revealScores`` and ``settle`` as real transactions. To be
fast, rounds move through the stages together: a block of opens, a block of
all their commits, a block of reveals, and so on, ``rounds_per_block`` rounds
at a time, sent as batched ``eth_sendTransaction`` from Anvil's unlocked
accounts with automine off (``oracle.simulation.rpc``). Payouts are read back
from the ``InferencePaid``/``EvaluatorPaid``/``Slashed``/``RoundSettled`` logs
and compared, round by round, with the reference model; any difference raises.

The committee: the contract draws K members from every registered evaluator
with ``prevrandao``, which no off-chain model can replicate. So exactly K
evaluator accounts (and n inference accounts) are registered, the contract
always draws all of them, and the engine decides (seeded) which evaluator
profile and which model each account plays in each round. The draw itself
is covered by the contract's tests.
"""

from __future__ import annotations

import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Sequence

from eth_abi import encode
from eth_utils import collapse_if_tuple, event_abi_to_log_topic, function_abi_to_4byte_selector, keccak

from oracle.artifacts import poq_artifact
from oracle.commitments import new_salt, output_commitment, scores_commitment
from oracle.devnet import Anvil
from oracle.params import Params, Role
from oracle.reward import EvaluatorPayout, InferencePayout, Settlement
from oracle.simulation.engine import ROUND_BUDGET, Progress, RoundOutcome, SimRound, initial_stakes
from oracle.simulation.reference_backend import ReferenceBackend, member_label, outcome, slot_label
from oracle.simulation.rpc import LeanRpc, Tx

COST = "(uint64,uint64,uint64)"
# A block gas limit no simulated block comes near (thousands of rounds' transactions per block).
BLOCK_GAS_LIMIT = 10**13
ROUNDS_PER_BLOCK = 250
# Gas a committee draw may take per member (candidate hashing, storage writes); unused gas is refunded.
_DRAW_GAS = 100_000


class SimulationMismatch(AssertionError):
    """The contract paid something the reference model did not; the message lists the rounds."""


class StageFailed(RuntimeError):
    """A stage's transactions did not all succeed; the message names the stage and the failed hashes."""


def _uint(value: int) -> bytes:
    """One ABI word: static arguments (ids, hashes) need no encoder, which matters at 20 tx per round."""
    return value.to_bytes(32, "big")


def _word(data: str, k: int) -> int:
    return int(data[2 + 64 * k: 2 + 64 * (k + 1)], 16)


def _topic_address(topic: str) -> str:
    return "0x" + topic[-40:]


class _Abi:
    """Selectors and event topics of the PoQ ABI, computed once."""

    def __init__(self) -> None:
        artifact = poq_artifact()
        self.bytecode = bytes.fromhex(artifact.bytecode[2:])
        functions = {e["name"]: e for e in artifact.abi if e["type"] == "function"}
        self.selector = {name: function_abi_to_4byte_selector(f) for name, f in functions.items()}
        self.topic = {e["name"]: "0x" + event_abi_to_log_topic(e).hex()
                      for e in artifact.abi if e["type"] == "event"}
        constructor = next(e for e in artifact.abi if e["type"] == "constructor")
        self.constructor_types = [collapse_if_tuple(i) for i in constructor["inputs"]]
        (task_input,) = functions["openRound"]["inputs"]
        self.task_type = collapse_if_tuple(task_input)


class AnvilBackend:
    """Plays rounds on a fresh PoQ deployment: on Anvil it starts, or on ``rpc_url`` (an Anvil)."""

    name = "anvil"

    def __init__(self, rpc_url: str | None = None, rounds_per_block: int = ROUNDS_PER_BLOCK) -> None:
        self.rpc_url = rpc_url
        self.rounds_per_block = rounds_per_block
        self.stats: dict[str, float] = {}

    def run(self, rounds: Sequence[SimRound], params: Params, progress: Progress | None = None
            ) -> list[RoundOutcome]:
        if not rounds:
            return []
        if self.rpc_url:
            return _Session(LeanRpc(self.rpc_url), rounds, params, self.rounds_per_block, self.stats).run(progress)
        accounts = 1 + len(rounds[0].slots) + len(rounds[0].committee)
        with Anvil(accounts=accounts, gas_limit=BLOCK_GAS_LIMIT) as anvil:
            return _Session(LeanRpc(anvil.url), rounds, params, self.rounds_per_block, self.stats).run(progress)


@dataclass(frozen=True)
class _Prepared:
    """A chunk's transactions that can be built before the chain is asked anything."""

    opens: list[Tx]
    commits: list[Tx]
    reveals: list[Tx]


class _Session:
    """One deployment and every round played on it."""

    def __init__(self, rpc: LeanRpc, rounds: Sequence[SimRound], params: Params, rounds_per_block: int,
                 stats: dict[str, float]) -> None:
        self.rpc, self.rounds, self.params = rpc, rounds, params
        self.rounds_per_block = rounds_per_block
        self.stats = stats
        self.abi = _Abi()
        n, k = len(rounds[0].slots), len(rounds[0].committee)
        accounts = [a.lower() for a in rpc.call("eth_accounts")]
        if len(accounts) < 1 + n + k:
            raise RuntimeError(f"the chain at {rpc.url} unlocks {len(accounts)} accounts; {n} slots and a "
                               f"committee of {k} need {1 + n + k}: start Anvil with --accounts {1 + n + k}")
        self.requester = accounts[0]
        self.slots = accounts[1:1 + n]
        self.members = accounts[1 + n:1 + n + k]
        self.label = {a: slot_label(i) for i, a in enumerate(self.slots)}
        self.label.update({a: member_label(j) for j, a in enumerate(self.members)})
        self.chain_id = int(rpc.call("eth_chainId"), 16)
        self.poq = ""
        self.transactions = 0

    # ------------------------------------------------------------------ setup

    def _setup(self) -> None:
        rpc, p = self.rpc, self.params
        if p.reveal_window > p.score_commit_window and any(not s.reveals for r in self.rounds for s in r.slots):
            raise ValueError(f"reveal_window={p.reveal_window} > score_commit_window={p.score_commit_window}: "
                             "rounds with a silent node would expire the others' scoring; keep them equal")
        rpc.call("evm_setAutomine", [False])
        rpc.call("evm_setBlockGasLimit", [hex(BLOCK_GAS_LIMIT)])
        # The requester funds every round's budget; top it up so any number of rounds fits.
        need = len(self.rounds) * ROUND_BUDGET + 10**22
        rpc.call("anvil_setBalance", [self.requester, hex(need)])
        data = self.abi.bytecode + encode(self.abi.constructor_types, [p.as_contract_tuple()])
        (deploy,) = rpc.batch([("eth_sendTransaction", [{"from": self.requester, "data": "0x" + data.hex(),
                                                          "gas": hex(10_000_000)}])])
        rpc.mine()
        receipt = rpc.call("eth_getTransactionReceipt", [deploy])
        if receipt is None or receipt["status"] != "0x1":
            raise StageFailed(f"deploying PoQ failed: tx {deploy}")
        self.poq = receipt["contractAddress"]
        register = self.abi.selector["register"]
        stakes = initial_stakes(self.rounds, p)
        txs = [Tx(a, self.poq, register + encode(["uint8"], [int(Role.INFERENCE)]), 300_000, stakes[i])
               for i, a in enumerate(self.slots)]
        txs += [Tx(a, self.poq, register + encode(["uint8"], [int(Role.EVALUATOR)]), 300_000, p.min_stake)
                for a in self.members]
        self._stage("register", txs, "NodeRegistered", len(txs))

    def _stage(self, name: str, txs: list[Tx], topic: str, expected: int) -> tuple[int, list[dict]]:
        """Send ``txs``, mine them into one block, and check ``expected`` logs of ``topic`` came out."""
        hashes = self.rpc.send(txs)
        block = self.rpc.mine()
        self.transactions += len(txs)
        logs = self.rpc.logs(self.poq, block, [self.abi.topic[topic]])
        if len(logs) != expected:
            failed = self.rpc.failed(hashes)
            raise StageFailed(f"{name}: {len(logs)} of {expected} expected events in block {block}; "
                              f"{len(failed)} transactions failed, e.g. {failed[:3]}")
        return block, logs

    # ------------------------------------------------------------------ rounds

    def run(self, progress: Progress | None) -> list[RoundOutcome]:
        expected = ReferenceBackend().run(self.rounds, self.params)
        start = time.perf_counter()
        try:
            self._setup()
            outcomes: list[RoundOutcome] = []
            chunks = []
            for k in range(0, len(self.rounds), self.rounds_per_block):
                chunk = self.rounds[k:k + self.rounds_per_block]
                chunks.append((chunk, list(range(k + 1, k + 1 + len(chunk)))))  # a fresh PoQ numbers from 1
            # Hashing and encoding the next chunk's transactions overlaps with Anvil executing this one's.
            with ThreadPoolExecutor(max_workers=1) as worker:
                prepared = worker.submit(self._prepare, *chunks[0])
                for k, (chunk, ids) in enumerate(chunks):
                    batch = prepared.result()
                    if k + 1 < len(chunks):
                        prepared = worker.submit(self._prepare, *chunks[k + 1])
                    got = self._play(chunk, ids, batch)
                    _compare(chunk, got, expected[len(outcomes):len(outcomes) + len(chunk)])
                    outcomes.extend(got)
                    if progress:
                        progress(len(outcomes), len(self.rounds))
        finally:
            try:
                self.rpc.call("evm_setAutomine", [True])
            except Exception:  # noqa: BLE001 - the chain may be gone already; nothing to restore
                pass
        elapsed = time.perf_counter() - start
        self.stats.update(seconds=elapsed, transactions=self.transactions,
                          tx_per_s=self.transactions / elapsed if elapsed else 0.0)
        return outcomes

    def _prepare(self, chunk: Sequence[SimRound], ids: list[int]) -> _Prepared:
        """The chunk's opens, output commits and reveals: they depend on nothing the chain says."""
        abi, poq = self.abi, self.poq
        sel = abi.selector
        opens = [Tx(self.requester, poq, sel["openRound"] + encode([abi.task_type], [(
            keccak(text=r.task_id), f"poq-sim:{r.task_id}", r.kind, len(r.slots), len(r.committee), b"\x00" * 32)]),
            600_000, ROUND_BUDGET) for r in chunk]
        commits, reveals = [], []
        for rid, r in zip(ids, chunk):
            for i, s in enumerate(r.slots):
                salt = new_salt()
                c = output_commitment(self.chain_id, poq, rid, self.slots[i], s.output, s.cost, salt)
                commits.append(Tx(self.slots[i], poq, sel["commitOutput"] + _uint(rid) + c, 250_000))
                if s.reveals:
                    data = sel["revealOutput"] + encode(["uint256", "string", COST, "bytes32"],
                                                        [rid, s.output, s.cost.as_tuple(), salt])
                    # The last reveal of a round also draws its committee.
                    reveals.append(Tx(self.slots[i], poq, data,
                                      300_000 + 200 * len(data) + _DRAW_GAS * len(r.committee)))
        return _Prepared(opens, commits, reveals)

    def _play(self, chunk: Sequence[SimRound], ids: list[int], batch: _Prepared) -> list[RoundOutcome]:
        p, poq = self.params, self.poq
        sel = self.abi.selector
        _, logs = self._stage("openRound", batch.opens, "RoundOpened", len(chunk))
        opened = sorted(int(log["topics"][1], 16) for log in logs)
        if opened != ids:
            raise StageFailed(f"openRound: opened rounds {opened[:3]}..., expected {ids[:3]}...: "
                              "the simulation needs a fresh deployment")
        self._stage("commitOutput", batch.commits, "OutputCommitted", len(batch.commits))
        _, logs = self._stage("revealOutput", batch.reveals, "OutputRevealed", len(batch.reveals))
        order: dict[int, dict[int, int]] = defaultdict(dict)  # round -> output index -> slot
        slot_of = {a: i for i, a in enumerate(self.slots)}
        for log in logs:
            order[int(log["topics"][1], 16)][_word(log["data"], 0)] = slot_of[_topic_address(log["topics"][2])]
        if p.reveal_window > 1 and any(len(r.revealed) < len(r.slots) for r in chunk):
            # Let the silent nodes' reveal deadline pass so the next call moves those rounds on.
            self.rpc.mine(p.reveal_window - 1)

        plans = []  # (round id, member, chain-order scores, cost, salt)
        for rid, r in zip(ids, chunk):
            if not r.revealed:
                continue  # no output revealed: the contract draws no committee
            for j, m in enumerate(r.committee):
                by_slot = dict(zip(r.revealed, m.scores))
                scores = [by_slot[order[rid][idx]] for idx in range(len(r.revealed))]
                plans.append((rid, j, scores, m.cost, new_salt()))
        score_commits = [Tx(self.members[j], poq, sel["commitScores"] + _uint(rid) + scores_commitment(
            self.chain_id, poq, rid, self.members[j], scores, cost, salt),
            250_000 + _DRAW_GAS * len(self.members))  # the first one draws the committee after a silent reveal
            for rid, j, scores, cost, salt in plans]
        self._stage("commitScores", score_commits, "ScoresCommitted", len(plans))
        score_reveals = [Tx(self.members[j], poq, sel["revealScores"] + encode(
            ["uint256", "uint64[]", COST, "bytes32"], [rid, scores, cost.as_tuple(), salt]),
            400_000 + 60_000 * len(scores)) for rid, j, scores, cost, salt in plans]
        self._stage("revealScores", score_reveals, "ScoresRevealed", len(plans))

        settles = [Tx(self.requester, poq, sel["settle"] + _uint(rid),
                      400_000 + 150_000 * (len(r.slots) + len(r.committee))) for rid, r in zip(ids, chunk)]
        block, _ = self._stage("settle", settles, "RoundSettled", len(chunk))
        return self._outcomes(block, ids)

    def _outcomes(self, block: int, ids: list[int]) -> list[RoundOutcome]:
        """Every round's payouts, decoded from the settle block's logs into the model's ``Settlement``."""
        t = self.abi.topic
        logs = self.rpc.logs(self.poq, block, [t["InferencePaid"], t["EvaluatorPaid"], t["Slashed"],
                                               t["RoundSettled"]])
        inference: dict[int, list[InferencePayout]] = defaultdict(list)
        evaluators: dict[int, list[EvaluatorPayout]] = defaultdict(list)
        slashes: dict[int, list[tuple[str, int]]] = defaultdict(list)
        settled: dict[int, tuple[int, int]] = {}
        for log in logs:
            topic, rid, data = log["topics"][0], int(log["topics"][1], 16), log["data"]
            if topic == t["RoundSettled"]:
                settled[rid] = (_word(data, 0), _word(data, 1))
                continue
            label = self.label[_topic_address(log["topics"][2])]
            if topic == t["Slashed"]:
                slashes[rid].append((label, _word(data, 0)))
                continue
            words = (_word(data, k) for k in range(4))  # score, cost, reward, amount
            if topic == t["InferencePaid"]:
                inference[rid].append(InferencePayout(label, *words))
            else:
                evaluators[rid].append(EvaluatorPayout(label, *words))
        return [outcome(Settlement(tuple(inference[rid]), tuple(evaluators[rid]), tuple(slashes[rid]), *settled[rid]))
                for rid in ids]


def _compare(chunk: Sequence[SimRound], got: list[RoundOutcome], want: list[RoundOutcome]) -> None:
    """Raise ``SimulationMismatch`` naming every round the chain settled differently from the model."""
    bad = [(r.index, g, w) for r, g, w in zip(chunk, got, want) if g != w]
    if bad:
        detail = "\n".join(f"round {i}: chain {g}\n          model {w}" for i, g, w in bad[:3])
        raise SimulationMismatch(f"{len(bad)} of {len(chunk)} rounds settled differently on chain than in the "
                                 f"reference model:\n{detail}")
