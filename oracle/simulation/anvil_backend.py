"""Settling simulated rounds on the real contract, on a local Anvil, checked to the wei.

Every round goes through ``openRound``, ``commitOutput``, ``revealOutput``,
``commitScores``, ``revealScores`` and ``settle`` as real transactions. To be
fast, rounds move through the stages together: a block of opens, a block of
all their commits, a block of reveals, and so on, ``rounds_per_block`` rounds
at a time, sent as batched ``eth_sendTransaction`` from Anvil's unlocked
accounts with automine off (``oracle.chain.jsonrpc``). Payouts are read back
from the ``InferencePaid``/``EvaluatorPaid``/``Compensated``/``Slashed``/
``RoundSettled`` logs and compared, round by round, with the reference model;
any difference raises.

Calldata is ``eth_abi``-encoded and logs decoded with the argument types and
names of the compiled ABI (``oracle.chain.artifacts``), never with offsets kept by
hand. Nothing a round sends depends on what the chain answers: the backend
knows every salt, output and score, so it builds all of a chunk's
transactions, ``settle``'s ``Settlement`` included, on a worker thread while
Anvil executes the previous chunk, and decodes and checks a chunk's payouts
there while Anvil executes the next.

The order: ``settle`` takes the revealed outputs, the silent committers and
the committee in ascending address order, a scorecard per member in that
order, and every score list follows the revealed outputs in ascending
address order. The engine keeps scores in slot order; both backends map them
to the accounts' address order through ``reference_backend.chain_scores``.

The committee: the contract draws K members by stake-weighted sortition
(``oracle.protocol.sortition``) from a seed mixed from the revealed salts, among the
evaluators registered before the round opened with at least the minimum
stake. The backend registers exactly n inference and K evaluator accounts,
the evaluators at the minimum stake, in a block mined before the first round
opens: every evaluator is drawable in every round, so the contract seats all
K every time a round has a revealed output (the draw decides only the order
of ``CommitteeDrawn``, which nothing here uses), and the engine decides
(seeded) which evaluator profile and which model each account plays.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from eth_abi import decode, encode
from eth_utils import (
    collapse_if_tuple,
    event_abi_to_log_topic,
    function_abi_to_4byte_selector,
    keccak,
    to_canonical_address,
)

from oracle.chain.anvil import Anvil
from oracle.chain.artifacts import poq_artifact
from oracle.chain.client import by_address
from oracle.chain.jsonrpc import LeanRpc, Tx
from oracle.protocol.commitments import new_salt, output_commitment, scores_commitment
from oracle.protocol.params import Params, Role
from oracle.protocol.reward import EvaluatorPayout, InferencePayout, Settlement
from oracle.simulation.engine import ROUND_BUDGET, initial_stakes
from oracle.simulation.reference_backend import (
    ReferenceBackend,
    chain_scores,
    check_budget,
    member_label,
    outcome,
    slot_label,
)
from oracle.simulation.types import RoundOutcome, SimProgress, SimRound

# A block gas limit no simulated block comes near (thousands of rounds' transactions per block).
BLOCK_GAS_LIMIT = 10**13
ROUNDS_PER_BLOCK = 250
# Gas a committee draw may take per evaluator in the set (its sortition key, its entry); unused gas is refunded.
DRAW_GAS = 100_000
# Logs the settle block is read for: everything settle credits or takes.
PAYOUT_EVENTS = ("InferencePaid", "EvaluatorPaid", "Compensated", "Slashed", "RoundSettled")
NO_REFERENCE = b"\x00" * 32


class SimulationMismatch(AssertionError):
    """The contract paid something the reference model did not; the message lists the rounds."""


class StageFailed(RuntimeError):
    """A stage's transactions did not all succeed; the message names the stage and the failed hashes."""


@dataclass(frozen=True)
class _Event:
    """One event's ABI: its indexed arguments (all static in PoQ: ids, addresses) and its data arguments."""

    name: str
    indexed_names: tuple[str, ...]
    indexed_types: tuple[str, ...]
    data_names: tuple[str, ...]
    data_types: tuple[str, ...]
    addresses: frozenset[str]  # names of the address arguments (decoded lower-case, as eth_accounts gives them)


class PoQAbi:
    """Selectors, argument types and event layouts of the PoQ ABI, read once from the compiled artifact."""

    def __init__(self) -> None:
        artifact = poq_artifact()
        self.bytecode = bytes.fromhex(artifact.bytecode[2:])
        functions = {e["name"]: e for e in artifact.abi if e["type"] == "function"}
        self.selector = {name: function_abi_to_4byte_selector(f) for name, f in functions.items()}
        self.inputs = {name: [collapse_if_tuple(i) for i in f["inputs"]] for name, f in functions.items()}
        self.outputs = {name: [collapse_if_tuple(o) for o in f["outputs"]] for name, f in functions.items()}
        constructor = next(e for e in artifact.abi if e["type"] == "constructor")
        self.constructor_types = [collapse_if_tuple(i) for i in constructor["inputs"]]
        self.topic: dict[str, str] = {}
        self.events: dict[str, _Event] = {}
        for e in artifact.abi:
            if e["type"] != "event":
                continue
            topic = "0x" + event_abi_to_log_topic(e).hex()
            indexed = [i for i in e["inputs"] if i["indexed"]]
            data = [i for i in e["inputs"] if not i["indexed"]]
            self.topic[e["name"]] = topic
            self.events[topic] = _Event(e["name"], tuple(i["name"] for i in indexed),
                                        tuple(collapse_if_tuple(i) for i in indexed),
                                        tuple(i["name"] for i in data), tuple(collapse_if_tuple(i) for i in data),
                                        frozenset(i["name"] for i in e["inputs"] if i["type"] == "address"))

    def call(self, fn: str, *args: Any) -> bytes:
        """Calldata of ``fn(*args)``."""
        return self.selector[fn] + encode(self.inputs[fn], args)

    def returned(self, fn: str, data: str) -> tuple:
        """``fn``'s return values decoded from an ``eth_call`` result."""
        return decode(self.outputs[fn], bytes.fromhex(data[2:]))

    def log(self, log: dict) -> tuple[str, dict[str, Any]]:
        """A log's event name and its arguments by name (addresses lower-case)."""
        e = self.events[log["topics"][0]]
        topics = b"".join(bytes.fromhex(t[2:]) for t in log["topics"][1:])
        args = dict(zip(e.indexed_names, decode(e.indexed_types, topics), strict=True))
        args.update(zip(e.data_names, decode(e.data_types, bytes.fromhex(log["data"][2:])), strict=True))
        for name in e.addresses:
            args[name] = args[name].lower()
        return e.name, args


class AnvilBackend:
    """Plays rounds on a fresh PoQ deployment: on Anvil it starts, or on ``rpc_url`` (an Anvil)."""

    name = "anvil"

    def __init__(self, rpc_url: str | None = None, rounds_per_block: int = ROUNDS_PER_BLOCK) -> None:
        self.rpc_url = rpc_url
        self.rounds_per_block = rounds_per_block
        self.stats: dict[str, float] = {}

    def run(self, rounds: Sequence[SimRound], params: Params, progress: SimProgress | None = None
            ) -> list[RoundOutcome]:
        if not rounds:
            return []
        check_budget(params)
        if self.rpc_url:
            return _Session(LeanRpc(self.rpc_url), rounds, params, self.rounds_per_block, self.stats).run(progress)
        accounts = 1 + len(rounds[0].slots) + len(rounds[0].committee)
        with Anvil(accounts=accounts, gas_limit=BLOCK_GAS_LIMIT) as anvil:
            return _Session(LeanRpc(anvil.url), rounds, params, self.rounds_per_block, self.stats).run(progress)


@dataclass(frozen=True)
class _Prepared:
    """A chunk's transactions, every stage's, built before the chain is asked anything."""

    opens: list[Tx]
    commits: list[Tx]
    reveals: list[Tx]
    score_commits: list[Tx]
    score_reveals: list[Tx]
    settles: list[Tx]
    silent: bool  # some round has a node that commits and never reveals


class _Session:
    """One deployment and every round played on it."""

    def __init__(self, rpc: LeanRpc, rounds: Sequence[SimRound], params: Params, rounds_per_block: int,
                 stats: dict[str, float]) -> None:
        self.rpc, self.rounds, self.params = rpc, rounds, params
        self.rounds_per_block = rounds_per_block
        self.stats = stats
        self.abi = PoQAbi()
        n, k = len(rounds[0].slots), len(rounds[0].committee)
        accounts = [a.lower() for a in rpc.call("eth_accounts")]
        if len(accounts) < 1 + n + k:
            raise RuntimeError(f"the chain at {rpc.url} unlocks {len(accounts)} accounts; {n} slots and a "
                               f"committee of {k} need {1 + n + k}: start Anvil with --accounts {1 + n + k}")
        self.requester = accounts[0]
        self.slots = accounts[1:1 + n]
        self.members = accounts[1 + n:1 + n + k]
        # The contract's order of slots and members: ascending address (settle's lists, every score list).
        self.slot_order = tuple(self.slots.index(a) for a in by_address(self.slots))
        self.member_order = tuple(self.members.index(a) for a in by_address(self.members))
        self.slot_address = [to_canonical_address(a) for a in self.slots]
        self.member_address = [to_canonical_address(a) for a in self.members]
        self.label = {a: slot_label(i) for i, a in enumerate(self.slots)}
        self.label.update({a: member_label(j) for j, a in enumerate(self.members)})
        self.chain_id = int(rpc.call("eth_chainId"), 16)
        self.poq = ""
        self.params_version = 0
        self.transactions = 0

    # ------------------------------------------------------------------ setup

    def _setup(self) -> None:
        rpc, p, abi = self.rpc, self.params, self.abi
        if p.reveal_window > p.score_commit_window and any(not s.reveals for r in self.rounds for s in r.slots):
            raise ValueError(f"reveal_window={p.reveal_window} > score_commit_window={p.score_commit_window}: "
                             "rounds with a silent node would expire the others' scoring; keep them equal")
        rpc.call("evm_setAutomine", [False])
        rpc.call("evm_setBlockGasLimit", [hex(BLOCK_GAS_LIMIT)])
        # The requester funds every round's budget; top it up so any number of rounds fits.
        need = len(self.rounds) * ROUND_BUDGET + 10**22
        rpc.call("anvil_setBalance", [self.requester, hex(need)])
        self.poq, self.params_version = deploy(rpc, abi, self.requester, p)
        stakes = initial_stakes(self.rounds, p)
        txs = [Tx(a, self.poq, abi.call("register", int(Role.INFERENCE)), 300_000, stakes[i])
               for i, a in enumerate(self.slots)]
        txs += [Tx(a, self.poq, abi.call("register", int(Role.EVALUATOR)), 300_000, p.min_stake)
                for a in self.members]
        # Mined in a block of its own: evaluators are drawable only in rounds opened after it.
        self._stage("register", txs, "NodeRegistered", len(txs))

    def _stage(self, name: str, txs: list[Tx], event: str, expected: int) -> tuple[int, list[dict]]:
        self.transactions += len(txs)
        return send_stage(self.rpc, self.abi, self.poq, name, txs, event, expected)

    # ------------------------------------------------------------------ rounds

    def run(self, progress: SimProgress | None) -> list[RoundOutcome]:
        expected = ReferenceBackend(self.slot_order, self.member_order).run(self.rounds, self.params)
        start = time.perf_counter()
        try:
            self._setup()
            outcomes: list[RoundOutcome] = []
            chunks = []
            for k in range(0, len(self.rounds), self.rounds_per_block):
                chunk = self.rounds[k:k + self.rounds_per_block]
                ids = list(range(k + 1, k + 1 + len(chunk)))  # a fresh PoQ numbers from 1
                chunks.append((chunk, ids, expected[k:k + len(chunk)]))
            checks: list[Future] = []

            def collect(wait: bool) -> None:
                while checks and (wait or checks[0].done()):
                    outcomes.extend(checks.pop(0).result())  # a mismatch raises here
                    if progress:
                        progress(len(outcomes), len(self.rounds))

            # Building the next chunk's transactions, and checking the last one's payouts, overlap with Anvil
            # executing this one's (one worker: a chunk is built, then the previous one checked, in order).
            with ThreadPoolExecutor(max_workers=1) as worker:
                prepared = worker.submit(self._prepare, *chunks[0][:2])
                for k, (chunk, ids, want) in enumerate(chunks):
                    batch = prepared.result()
                    if k + 1 < len(chunks):
                        prepared = worker.submit(self._prepare, *chunks[k + 1][:2])
                    logs = self._play(chunk, ids, batch)
                    checks.append(worker.submit(self._check, chunk, ids, logs, want))
                    collect(wait=False)
                collect(wait=True)
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
        """Every transaction of the chunk: they depend on nothing the chain says (ids are 1, 2, ...)."""
        abi, poq, n_members = self.abi, self.poq, len(self.members)
        opens, commits, reveals, score_commits, score_reveals, settles = [], [], [], [], [], []
        silent_rounds = False
        for rid, r in zip(ids, chunk, strict=True):
            opens.append(Tx(self.requester, poq, abi.call("openRound", (
                keccak(text=r.task_id), f"poq-sim:{r.task_id}", r.kind, len(r.slots), len(r.committee),
                NO_REFERENCE, self.params_version)), 600_000, ROUND_BUDGET))
            for i, s in enumerate(r.slots):
                salt = new_salt()
                c = output_commitment(self.chain_id, poq, rid, self.slots[i], s.output, s.cost, salt)
                commits.append(Tx(self.slots[i], poq, abi.call("commitOutput", rid, c), 250_000))
                if s.reveals:
                    data = abi.call("revealOutput", rid, s.output, s.cost.as_tuple(), salt)
                    # The last reveal of a round also draws its committee.
                    reveals.append(Tx(self.slots[i], poq, data, 300_000 + 200 * len(data) + DRAW_GAS * n_members))
            outputs = [i for i in self.slot_order if r.slots[i].reveals]
            silent = [i for i in self.slot_order if not r.slots[i].reveals]
            silent_rounds = silent_rounds or bool(silent)
            cards = []
            if outputs:  # no output revealed: the contract draws no committee
                for j in self.member_order:
                    member, play, salt = self.members[j], r.committee[j], new_salt()
                    scores = list(chain_scores(r, j, outputs))
                    c = scores_commitment(self.chain_id, poq, rid, member, scores, play.cost, salt)
                    # The first score commit of a round with a silent node also draws its committee.
                    score_commits.append(Tx(member, poq, abi.call("commitScores", rid, c),
                                            250_000 + DRAW_GAS * n_members))
                    score_reveals.append(Tx(member, poq, abi.call(
                        "revealScores", rid, scores, play.cost.as_tuple(), salt), 400_000 + 60_000 * len(scores)))
                    cards.append((scores, play.cost.as_tuple()))
            settlement = ([self.slot_address[i] for i in outputs], [self.slot_address[i] for i in silent],
                          [self.member_address[j] for j in self.member_order] if outputs else [], cards)
            data = abi.call("settle", rid, settlement)
            settles.append(Tx(self.requester, poq, data,
                              400_000 + 150_000 * (len(r.slots) + len(r.committee)) + 20 * len(data)))
        return _Prepared(opens, commits, reveals, score_commits, score_reveals, settles, silent_rounds)

    def _play(self, chunk: Sequence[SimRound], ids: list[int], batch: _Prepared) -> list[dict]:
        """Every stage of the chunk, a block each; returns the settle block's payout logs."""
        _, logs = self._stage("openRound", batch.opens, "RoundOpened", len(chunk))
        opened = sorted(self.abi.log(log)[1]["roundId"] for log in logs)
        if opened != ids:
            raise StageFailed(f"openRound: opened rounds {opened[:3]}..., expected {ids[:3]}...: "
                              "the simulation needs a fresh deployment")
        self._stage("commitOutput", batch.commits, "OutputCommitted", len(batch.commits))
        self._stage("revealOutput", batch.reveals, "OutputRevealed", len(batch.reveals))
        if batch.silent and self.params.reveal_window > 1:
            # Let the silent nodes' reveal deadline pass so the next call moves those rounds on.
            self.rpc.mine(self.params.reveal_window - 1)
        self._stage("commitScores", batch.score_commits, "ScoresCommitted", len(batch.score_commits))
        self._stage("revealScores", batch.score_reveals, "ScoresRevealed", len(batch.score_reveals))
        block, _ = self._stage("settle", batch.settles, "RoundSettled", len(chunk))
        return self.rpc.logs(self.poq, block, [self.abi.topic[e] for e in PAYOUT_EVENTS])

    def _check(self, chunk: Sequence[SimRound], ids: list[int], logs: list[dict],
               want: list[RoundOutcome]) -> list[RoundOutcome]:
        """The chunk's settlements decoded from the settle block's logs, checked against the model's."""
        got = self._outcomes(logs, ids)
        compare(chunk, got, want)
        return got

    def _outcomes(self, logs: list[dict], ids: list[int]) -> list[RoundOutcome]:
        return [outcome(s) for s in decode_settlements(self.abi, logs, ids, self.label)]


def deploy(rpc: LeanRpc, abi: PoQAbi, sender: str, params: Params) -> tuple[str, int]:
    """Deploy PoQ with ``params`` from ``sender`` in a block of its own; its address and parameter version."""
    data = abi.bytecode + encode(abi.constructor_types, [params.as_contract_tuple()])
    (tx,) = rpc.batch([("eth_sendTransaction", [{"from": sender, "data": "0x" + data.hex(), "gas": hex(15_000_000)}])])
    rpc.mine()
    receipt = rpc.call("eth_getTransactionReceipt", [tx])
    if receipt is None or receipt["status"] != "0x1":
        raise StageFailed(f"deploying PoQ failed: tx {tx}")
    poq = receipt["contractAddress"].lower()
    (version,) = abi.returned("paramsVersion", rpc.call(
        "eth_call", [{"to": poq, "data": "0x" + abi.selector["paramsVersion"].hex()}, "latest"]))
    return poq, version


def send_stage(rpc: LeanRpc, abi: PoQAbi, poq: str, name: str, txs: list[Tx], event: str, expected: int
               ) -> tuple[int, list[dict]]:
    """Send ``txs``, mine them into one block, and check ``expected`` logs of ``event`` came out."""
    hashes = rpc.send(txs)
    block = rpc.mine()
    logs = rpc.logs(poq, block, [abi.topic[event]])
    if len(logs) != expected:
        failed = rpc.failed(hashes)
        raise StageFailed(f"{name}: {len(logs)} of {expected} expected events in block {block}; "
                          f"{len(failed)} transactions failed, e.g. {failed[:3]}")
    return block, logs


def decode_settlements(abi: PoQAbi, logs: list[dict], ids: list[int], label: dict[str, str]) -> list[Settlement]:
    """Every round's payouts, decoded from the settle block's logs into the model's ``Settlement``
    (nodes named by ``label[address]``)."""
    inference: dict[int, list[InferencePayout]] = defaultdict(list)
    evaluators: dict[int, list[EvaluatorPayout]] = defaultdict(list)
    slashes: dict[int, list[tuple[str, int]]] = defaultdict(list)
    compensation: dict[int, list[tuple[str, int]]] = defaultdict(list)
    settled: dict[int, tuple[int, int]] = {}
    for log in logs:
        name, a = abi.log(log)
        rid = a["roundId"]
        if name == "RoundSettled":
            settled[rid] = (a["paid"], a["refund"])
        elif name == "Slashed":
            slashes[rid].append((label[a["node"]], a["amount"]))
        elif name == "Compensated":
            compensation[rid].append((label[a["node"]], a["amount"]))
        elif name == "InferencePaid":
            inference[rid].append(InferencePayout(label[a["node"]], a["quality"], a["cost"], a["reward"],
                                                  a["amount"]))
        else:
            evaluators[rid].append(EvaluatorPayout(label[a["evaluator"]], a["agreement"], a["cost"],
                                                   a["reward"], a["amount"]))
    missing = [rid for rid in ids if rid not in settled]
    if missing:
        raise StageFailed(f"settle: no RoundSettled log for rounds {missing[:3]}...")
    return [Settlement(tuple(inference[rid]), tuple(evaluators[rid]), tuple(slashes[rid]), *settled[rid],
                       compensation=tuple(compensation[rid])) for rid in ids]


def compare(chunk: Sequence[SimRound], got: list[RoundOutcome], want: list[RoundOutcome]) -> None:
    """Raise ``SimulationMismatch`` naming every round the chain settled differently from the model."""
    bad = [(r.index, g, w) for r, g, w in zip(chunk, got, want, strict=True) if g != w]
    if bad:
        detail = "\n".join(f"round {i}: chain {g}\n          model {w}" for i, g, w in bad[:3])
        raise SimulationMismatch(f"{len(bad)} of {len(chunk)} rounds settled differently on chain than in the "
                                 f"reference model:\n{detail}")
