"""A population on the real contract, on a local Anvil: the contract draws every committee.

Every node of the population is its own account (``network.address_of``, sent
from with Anvil's auto-impersonation), registered with its own stake in the
block before the epoch it joins, and leaving by ``requestExit`` in the block
before the epoch it leaves. An epoch's rounds move through the stages
together, a block per stage, as in ``anvil_backend``:

1. ``openRound`` for each round; ``commitOutput`` by the nodes the network put
   in its slots; ``revealOutput`` by those that are not silent. The last reveal
   of a round makes the contract draw its committee.
2. The committees are read from that block's ``CommitteeDrawn`` events, and only
   the drawn members commit and reveal scores (an absent member does neither:
   the stage then waits out its deadline).
3. Rounds with a silent node draw only once their reveal deadline has passed:
   the backend mines past it, calls ``advance``, reads those committees, and
   scores them the same way.
4. ``settle`` for every round, in round order, from the events' data.

Each committee read from the chain must be the one ``Network.predicted_committee``
draws from the same salts, and each round's payouts, slashes and refund must be
the reference model's, settled with the stakes the slashes have left; any
difference raises ``SimulationMismatch``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from eth_utils import keccak, to_canonical_address

from oracle.chain.anvil import Anvil
from oracle.chain.jsonrpc import LeanRpc, Tx
from oracle.protocol.commitments import output_commitment, scores_commitment
from oracle.protocol.params import Params, Role
from oracle.simulation.anvil_backend import (
    BLOCK_GAS_LIMIT,
    DRAW_GAS,
    NO_REFERENCE,
    PAYOUT_EVENTS,
    PoQAbi,
    SimulationMismatch,
    StageFailed,
    compare,
    decode_settlements,
    deploy,
    send_stage,
)
from oracle.simulation.engine import ROUND_BUDGET
from oracle.simulation.network import Network, NetworkConfig, NetworkRun, RoundPlan, salt
from oracle.simulation.population import Population, PopulationError
from oracle.simulation.record_pool import ProfilePool
from oracle.simulation.reference_backend import outcome
from oracle.simulation.types import SimProgress, SimRound


class AnvilNetwork:
    """Plays a population on a fresh PoQ deployment: on an Anvil it starts, or on ``rpc_url`` (a fresh Anvil)."""

    name = "anvil"

    def __init__(self, rpc_url: str | None = None) -> None:
        self.rpc_url = rpc_url
        self.stats: dict[str, float] = {}

    def run(self, pool: ProfilePool, population: Population, params: Params, config: NetworkConfig,
            progress: SimProgress | None = None) -> NetworkRun:
        if config.draw != "salts":
            raise PopulationError(f"draw={config.draw!r}: the Anvil backend checks the contract's own draw from "
                                  "the revealed salts; give draw='salts'")
        if params.score_commit_window > params.score_reveal_window:
            raise PopulationError(f"score_commit_window={params.score_commit_window} > score_reveal_window="
                                  f"{params.score_reveal_window}: on chain, rounds waiting out an absent member "
                                  "would expire the others' score reveals; keep score_commit_window <= "
                                  "score_reveal_window")
        net = Network(pool, population, params, config)
        if self.rpc_url:
            return _Session(LeanRpc(self.rpc_url), net, self.stats).run(progress)
        with Anvil(accounts=1, gas_limit=BLOCK_GAS_LIMIT, chain_id=config.chain_id) as anvil:
            return _Session(LeanRpc(anvil.url), net, self.stats).run(progress)


class _Session:
    def __init__(self, rpc: LeanRpc, net: Network, stats: dict[str, float]) -> None:
        self.rpc, self.net, self.stats = rpc, net, stats
        self.abi = PoQAbi()
        self.params_version = 0
        self.transactions = 0
        self.draw_gas = DRAW_GAS * len(net.population.evaluators)

    def _stage(self, name: str, txs: list[Tx], event: str, expected: int) -> tuple[int, list[dict]]:
        self.transactions += len(txs)
        return send_stage(self.rpc, self.abi, self.net.poq, name, txs, event, expected)

    def _call(self, fn: str, *args: object) -> bytes:
        return self.abi.call(fn, *args)

    def run(self, progress: SimProgress | None) -> NetworkRun:
        net, rpc = self.net, self.rpc
        start_time = time.perf_counter()
        run = NetworkRun()
        try:
            self._setup()
            for start, stop in net.epochs():
                self._membership(start)
                plans = net.plan_epoch(start, stop)
                rounds, committees = self._play(plans)
                _, logs = self._stage("settle", [self._settle_tx(p, r) for p, r in zip(plans, rounds, strict=True)],
                                      "RoundSettled", len(plans))
                block = int(logs[0]["blockNumber"], 16)
                payout_logs = rpc.logs(net.poq, block, [self.abi.topic[e] for e in PAYOUT_EVENTS])
                got = [outcome(s) for s in decode_settlements(self.abi, payout_logs, [p.round_id for p in plans],
                                                              net.name_of)]
                compare(rounds, got, [net.settle(r) for r in rounds])
                run.rounds += rounds
                run.committees += committees
                run.outcomes += got
                run.history.append((stop, dict(net.stakes)))
                if progress:
                    progress(stop, net.config.rounds)
        finally:
            try:
                rpc.call("evm_setAutomine", [True])
            except Exception:  # noqa: BLE001 - the chain may be gone already; nothing to restore
                pass
        elapsed = time.perf_counter() - start_time
        self.stats.update(seconds=elapsed, transactions=self.transactions,
                          tx_per_s=self.transactions / elapsed if elapsed else 0.0)
        run.stakes = dict(net.stakes)
        return run

    # ------------------------------------------------------------------ setup and membership

    def _setup(self) -> None:
        rpc, net, abi = self.rpc, self.net, self.abi
        rpc.call("anvil_autoImpersonateAccount", [True])
        rpc.call("evm_setAutomine", [False])
        rpc.call("evm_setBlockGasLimit", [hex(BLOCK_GAS_LIMIT)])
        funds = [(net.requester, net.config.rounds * ROUND_BUDGET + 10**22)]
        funds += [(net.address[name], stake + 10**21) for name, stake in net.stakes.items()]
        rpc.batch([("anvil_setBalance", [a, hex(v)]) for a, v in funds])
        poq, self.params_version = deploy(rpc, abi, net.requester, net.params)
        if poq != net.poq:
            raise StageFailed(f"PoQ was deployed at {poq}, not at {net.poq} where the network's committee draws "
                              "expect it: play a network on a fresh chain")

    def _membership(self, start: int) -> None:
        """Registers the nodes that join at ``start`` and exits those that leave, in blocks before its rounds."""
        net = self.net
        joins = [n for n in net.nodes.values() if n.joins == start]
        leaves = [n for n in net.nodes.values() if n.leaves == start]
        if joins:
            evaluators = {n.name for n in net.population.evaluators}
            txs = [Tx(net.address[n.name], net.poq, self._call(
                "register", int(Role.EVALUATOR if n.name in evaluators else Role.INFERENCE)), 300_000,
                net.stakes[n.name]) for n in joins]
            self._stage("register", txs, "NodeRegistered", len(txs))
        if leaves:
            txs = [Tx(net.address[n.name], net.poq, self._call("requestExit"), 200_000) for n in leaves]
            self._stage("requestExit", txs, "ExitRequested", len(txs))

    # ------------------------------------------------------------------ rounds

    def _play(self, plans: list[RoundPlan]) -> tuple[list[SimRound], list[tuple[str, ...]]]:
        """Open, commit, reveal and score the epoch's rounds; their rounds and drawn committees, in round order."""
        net, p, rpc = self.net, self.net.params, self.rpc
        opens = [Tx(net.requester, net.poq, self._call("openRound", (
            keccak(text=plan.task_id), f"poq-net:{plan.task_id}", plan.kind, len(plan.slots), net.config.committee,
            NO_REFERENCE, self.params_version)), 600_000, ROUND_BUDGET) for plan in plans]
        _, logs = self._stage("openRound", opens, "RoundOpened", len(plans))
        opened = sorted(self.abi.log(log)[1]["roundId"] for log in logs)
        if opened != [plan.round_id for plan in plans]:
            raise StageFailed(f"openRound: opened rounds {opened[:3]}..., expected {plans[0].round_id}...: "
                              "the network needs a fresh deployment")
        commits, reveals = [], []
        for plan in plans:
            for node, play, s in zip(plan.slot_nodes, plan.slots, plan.salts, strict=True):
                sender = net.address[node.name]
                c = output_commitment(net.config.chain_id, net.poq, plan.round_id, sender, play.output, play.cost, s)
                commits.append(Tx(sender, net.poq, self._call("commitOutput", plan.round_id, c), 250_000))
                if play.reveals:
                    data = self._call("revealOutput", plan.round_id, play.output, play.cost.as_tuple(), s)
                    reveals.append(Tx(sender, net.poq, data, 300_000 + 200 * len(data) + self.draw_gas))
        commit_block, _ = self._stage("commitOutput", commits, "OutputCommitted", len(commits))
        # Rounds whose every committer revealed draw their committee in the reveal block.
        full = [plan for plan in plans if all(s.reveals for s in plan.slots)]
        block, _ = self._stage("revealOutput", reveals, "OutputRevealed", len(reveals))
        drawn = self._drawn(block)
        scored = self._score(full, drawn, block)
        # The others draw once their reveal deadline (commit block + reveal window) has passed.
        late = [plan for plan in plans if not all(s.reveals for s in plan.slots)]
        if late:
            rpc.mine(max(0, commit_block + p.reveal_window - rpc.block_number()))
            txs = [Tx(net.requester, net.poq, self._call("advance", plan.round_id), 200_000 + self.draw_gas)
                   for plan in late]
            block, _ = self._stage("advance", txs, "CommitteeDrawn", sum(plan.any_revealed for plan in late))
            drawn.update(self._drawn(block))
            scored.update(self._score(late, drawn, block))
        rounds, committees = [], []
        for plan in plans:
            committee = drawn.get(plan.round_id, ())
            predicted = net.predicted_committee(plan)
            if committee != predicted:
                raise SimulationMismatch(f"round {plan.index}: the contract drew {committee}, the reference "
                                         f"model's draw from the same salts is {predicted}")
            # A round without a revealed output drew no committee and was not scored.
            rounds.append(scored.get(plan.round_id) or net.scored(plan, ()))
            committees.append(committee)
        return rounds, committees

    def _drawn(self, block: int) -> dict[int, tuple[str, ...]]:
        """round id -> the committee drawn in ``block`` (names, in draw order), from ``CommitteeDrawn``."""
        out = {}
        for log in self.rpc.logs(self.net.poq, block, [self.abi.topic["CommitteeDrawn"]]):
            _, a = self.abi.log(log)
            out[a["roundId"]] = tuple(self.net.name_of[m.lower()] for m in a["members"])
        return out

    def _score(self, plans: Sequence[RoundPlan], drawn: dict[int, tuple[str, ...]], draw_block: int
               ) -> dict[int, SimRound]:
        """The drawn members of ``plans`` commit and reveal; an absent member makes the stage wait its deadline.
        Returns each scored round by round id."""
        net, p = self.net, self.net.params
        commits, reveals, absent = [], [], False
        scored = {}
        for plan in plans:
            if plan.round_id not in drawn:
                continue
            r = scored[plan.round_id] = net.scored(plan, drawn[plan.round_id])
            for m in r.committee:
                if not m.commits:
                    absent = True
                    continue
                sender, s = net.address[m.evaluator], salt(net.config.seed, plan.index, m.evaluator)
                c = scores_commitment(net.config.chain_id, net.poq, plan.round_id, sender, m.scores, m.cost, s)
                commits.append(Tx(sender, net.poq, self._call("commitScores", plan.round_id, c), 250_000))
                reveals.append(Tx(sender, net.poq, self._call("revealScores", plan.round_id, list(m.scores),
                                                              m.cost.as_tuple(), s), 400_000 + 60_000 * len(m.scores)))
        self._stage("commitScores", commits, "ScoresCommitted", len(commits))
        if absent:
            # Past the score-commit deadline, so the committed members' reveals open their rounds' reveal stage.
            self.rpc.mine(max(0, draw_block + p.score_commit_window - self.rpc.block_number()))
        self._stage("revealScores", reveals, "ScoresRevealed", len(reveals))
        return scored

    def _settle_tx(self, plan: RoundPlan, r: SimRound) -> Tx:
        """``settle``'s calldata from what the round revealed: outputs, silent nodes, members (ascending)."""
        net = self.net
        address = [to_canonical_address(net.address[s.model]) for s in r.slots]
        cards = [(list(m.scores), m.cost.as_tuple()) if m.commits else ([], (0, 0, 0)) for m in r.committee]
        settlement = ([a for a, s in zip(address, r.slots, strict=True) if s.reveals],
                      [a for a, s in zip(address, r.slots, strict=True) if not s.reveals],
                      [to_canonical_address(net.address[m.evaluator]) for m in r.committee], cards)
        data = self._call("settle", plan.round_id, settlement)
        return Tx(net.requester, net.poq, data, 400_000 + 150_000 * (len(r.slots) + len(r.committee)) + 20 * len(data))
