"""A population played on the protocol's own terms: accounts, salts, the contract's committee draw, stakes.

``population.play`` draws committees uniformly, which is the contract's
stake-weighted draw exactly when every evaluator stakes the same and nobody is
slashed. Here nothing is assumed: every node is an account with its own stake,
the committee of each round is drawn by the contract's rule
(``oracle.protocol.sortition``) from the salts its inference nodes reveal, a
slash lowers a stake and so the node's weight in later draws (below the minimum
stake it is drawn no more, and an inference node can no longer commit), and
nodes join and leave at given rounds. Both backends step through this one
``Network``: the reference settles with ``oracle.protocol.reward.settle``; the
Anvil backend (``anvil_network``) sends every call to the real contract, reads
each committee from its ``CommitteeDrawn`` event, and checks committees and
payouts against this model to the wei.

Epochs. A network runs rounds concurrently: the rounds of an epoch open in one
block and settle together, so every round of an epoch sees the stakes and the
membership at the epoch's start; slashes apply at settlement, in round order.
Epochs are ``epoch`` rounds long and also end where a node joins or leaves.

Behaviours: an inference node is ``honest``, ``silent`` (commits and never
reveals: slashed) or ``grind`` (the colluders' accomplice: it reveals last,
and when the partner is in its round and the committee drawn without its salt
would lift the partner by more than the accomplice forfeits, its payout and
the slash, it withholds its reveal; see ``grinding``). An evaluator is
``honest``, ``collude`` (scores the partner, inference node 0, 1.0) or
``absent`` (drawn, never commits: slashed). A ``Scenario`` of
``oracle.simulation.scenarios`` can also be played by the nodes it names
(``network_incentives``).

Addresses and salts come from names and the seed (``address_of``, ``salt``), and
the deployment's address from its deployer, so the reference predicts the
committee the contract draws on a fresh chain without asking it (``draw="salts"``,
what the Anvil backend checks). That exact draw hashes every evaluator's key in
every round, about 300 rounds/s at M = 200; ``draw="seeded"`` draws by the same
rule (the K smallest ``-ln(u) / weight``, Efraimidis-Spirakis) from a seeded
generator instead, a whole epoch at once, for long runs: the same distribution
of committees, not the same committees.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from eth_utils import keccak, to_canonical_address

from oracle.protocol.params import MAX_COMMITTEE, MAX_EVALUATORS, MAX_SLOTS, UINT96_MAX, WAD, Params
from oracle.protocol.reward import Cost, Evaluation, Output, RoundInput, normalised_cost, settle
from oracle.protocol.sortition import Candidate, draw, mix_salts, round_seed
from oracle.simulation.engine import ROUND_BUDGET, clamp_wad, committee_cost, cyclic_gc_paused
from oracle.simulation.population import Node, Population, PopulationError
from oracle.simulation.record_pool import ProfilePool
from oracle.simulation.reference_backend import check_budget, label_index, outcome
from oracle.simulation.scenarios import Scenario
from oracle.simulation.types import MemberPlay, RoundOutcome, SimProgress, SimRound, SlotPlay

INFERENCE_BEHAVIOURS = ("honest", "silent", "grind")
EVALUATOR_BEHAVIOURS = ("honest", "collude", "absent")
ANVIL_CHAIN_ID = 31337
DRAWS = ("salts", "seeded")


def address_of(name: str) -> str:
    """A node's account: the last 20 bytes of ``keccak("poq-network:" + name)``, lower-case hex."""
    return "0x" + keccak(text=f"poq-network:{name}")[-20:].hex()


def created_address(deployer: str, nonce: int = 0) -> str:
    """The address a contract gets when ``deployer`` creates it with its nonce 0 (RLP of [sender, 0])."""
    if nonce != 0:
        raise ValueError("only a deployer's first contract is predicted here")
    return "0x" + keccak(b"\xd6\x94" + to_canonical_address(deployer) + b"\x80")[-20:].hex()


def salt(seed: int, round_index: int, name: str) -> bytes:
    """A node's commitment salt for a round: secret to the others in a real network, seeded here."""
    return keccak(text=f"poq-network-salt:{seed}:{round_index}:{name}")


@dataclass(frozen=True)
class NetworkConfig:
    rounds: int = 1_000
    slots: int = 3  # n
    committee: int = 3  # K
    epoch: int = 50  # rounds opened and settled together
    seed: int = 0
    chain_id: int = ANVIL_CHAIN_ID
    draw: str = "salts"  # the contract's own keys from the revealed salts, or "seeded" (see the module's docstring)


@dataclass(frozen=True)
class RoundPlan:
    """A round before its committee is known: who fills the slots (ascending address) and with what."""

    index: int
    round_id: int  # a fresh PoQ numbers rounds from 1
    task_id: str
    kind: str
    slot_nodes: tuple[Node, ...]
    slots: tuple[SlotPlay, ...]
    salts: tuple[bytes, ...]  # each slot node's commitment salt (empty with ``draw="seeded"``: nothing needs them)
    candidates: tuple[Candidate, ...]  # the evaluator set at the epoch's start, with draw weights
    seeded: tuple[str, ...] | None = None  # the committee drawn by ``draw="seeded"`` (names, draw order)
    # With ``draw="seeded"``: the committee drawn instead when the round's grinders withhold (another seed).
    alternative: tuple[str, ...] | None = None
    withheld: bool = False  # the round's grinders withheld their reveals

    @property
    def any_revealed(self) -> bool:
        """Whether some output is revealed: otherwise the contract draws no committee."""
        return any(play.reveals for play in self.slots)


@dataclass
class NetworkRun:
    """What a backend played: each round (members in ascending address), its committee in draw order, its pay."""

    rounds: list[SimRound] = field(default_factory=list)
    committees: list[tuple[str, ...]] = field(default_factory=list)
    outcomes: list[RoundOutcome] = field(default_factory=list)
    stakes: dict[str, int] = field(default_factory=dict)  # every node's stake after the last round
    history: list[tuple[int, dict[str, int]]] = field(default_factory=list)  # (rounds done, stakes) per epoch


@dataclass(frozen=True)
class NodeSummary:
    """One node over a run: what it played, what it was paid, what it lost."""

    name: str
    role: str  # "inference" or "evaluator"
    identity: str
    behaviour: str
    plays: int  # slots filled, or seats drawn
    mean_reward: float  # average normalised reward per play (0 for a play it did not finish)
    paid_wei: int
    slashed_wei: int
    stake_start: int
    stake_end: int


def rewards_by_node(run: NetworkRun) -> dict[str, dict[int, float]]:
    """node -> round index -> its normalised reward, for every round it played (0 where it was not paid)."""
    out: dict[str, dict[int, float]] = {}
    for r, o in zip(run.rounds, run.outcomes, strict=True):
        for names, payouts in (([s.model for s in r.slots], o.inference),
                               ([m.evaluator for m in r.committee], o.evaluators)):
            by_number = {p.index: p.reward for p in payouts}
            for name in names:
                out.setdefault(name, {})[r.index] = by_number.get(label_index(name), 0) / WAD
    return out


def summarise(population: Population, params: Params, run: NetworkRun) -> list[NodeSummary]:
    """Every node's plays, average normalised reward, pay and slashes over ``run``.

    Outcomes index payouts by the number in a node's name (``label_index``)."""
    plays: dict[str, int] = {}
    reward: dict[str, int] = {}
    paid: dict[str, int] = {}
    slashed: dict[str, int] = {}
    for r, o in zip(run.rounds, run.outcomes, strict=True):
        for names, payouts in (([s.model for s in r.slots], o.inference),
                               ([m.evaluator for m in r.committee], o.evaluators)):
            by_number = {p.index: p for p in payouts}
            for name in names:
                plays[name] = plays.get(name, 0) + 1
                if (p := by_number.get(label_index(name))) is not None:
                    reward[name] = reward.get(name, 0) + p.reward
                    paid[name] = paid.get(name, 0) + p.amount
        for name, amount in o.compensation:
            paid[name] = paid.get(name, 0) + amount
        for name, amount in o.slashes:
            slashed[name] = slashed.get(name, 0) + amount
    out = []
    for role, nodes in (("inference", population.inference), ("evaluator", population.evaluators)):
        for n in nodes:
            count = plays.get(n.name, 0)
            out.append(NodeSummary(n.name, role, n.identity, n.behaviour, count,
                                   reward.get(n.name, 0) / WAD / count if count else 0.0, paid.get(n.name, 0),
                                   slashed.get(n.name, 0), n.stake or params.min_stake,
                                   run.stakes.get(n.name, n.stake or params.min_stake)))
    return out


def check_population(population: Population) -> None:
    """Refuse an unknown behaviour and a population with no honest node of either kind, naming the fix."""
    for nodes, known in ((population.inference, INFERENCE_BEHAVIOURS), (population.evaluators, EVALUATOR_BEHAVIOURS)):
        for node in nodes:
            if node.behaviour not in known:
                raise PopulationError(f"node {node.name} has unknown behaviour {node.behaviour!r}: give one of "
                                      f"{', '.join(known)}")
        if not any(n.behaviour == "honest" for n in nodes):
            raise PopulationError(f"no honest node among the {len(nodes)} {nodes[0].name.rsplit('-', 1)[0]} "
                                  "nodes: a population needs honest play to measure deviations against")


def check_nodes(population: Population, params: Params, config: NetworkConfig) -> None:
    """What the contract would refuse, or the payouts could not tell apart, refused here with the fix."""
    if not 1 <= config.slots <= MAX_SLOTS or not 1 <= config.committee <= MAX_COMMITTEE:
        raise PopulationError(f"n={config.slots}, K={config.committee}: the contract takes 1 to {MAX_SLOTS} slots "
                              f"and committees of 1 to {MAX_COMMITTEE}")
    if len(population.evaluators) > MAX_EVALUATORS:
        raise PopulationError(f"M={len(population.evaluators)}: the contract's evaluator set holds at most "
                              f"{MAX_EVALUATORS}; give fewer evaluator nodes")
    names = [n.name for n in (*population.inference, *population.evaluators)]
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise PopulationError(f"nodes {', '.join(twice)} appear twice: give every node its own name")
    for role in (population.inference, population.evaluators):
        numbers: dict[int, str] = {}
        for n in role:
            head, _, number = n.name.rpartition("-")
            if not head or not number.isdigit():
                raise PopulationError(f"node name {n.name!r}: payouts are told apart by the number after the last "
                                      "'-'; name nodes like inference-007 or evaluator-012")
            if int(number) in numbers:
                raise PopulationError(f"nodes {numbers[int(number)]} and {n.name} share the number {int(number)}: "
                                      "give each node of a role its own number")
            numbers[int(number)] = n.name
    for n in (*population.inference, *population.evaluators):
        stake = n.stake or params.min_stake
        if not params.min_stake <= stake <= UINT96_MAX:
            raise PopulationError(f"node {n.name} stakes {stake} wei, outside [min_stake={params.min_stake}, "
                                  "2**96 - 1]: the contract refuses to register it; give a stake in that range")
        if n.joins < 0 or (n.leaves is not None and n.leaves <= n.joins):
            raise PopulationError(f"node {n.name} joins at round {n.joins} and leaves at {n.leaves}: give "
                                  "0 <= joins < leaves")


class Network:
    """The per-node state both backends share: stakes, membership, the seeded draws of slots and tasks."""

    def __init__(self, pool: ProfilePool, population: Population, params: Params, config: NetworkConfig,
                 deviation: Scenario | None = None) -> None:
        check_budget(params)
        check_population(population)
        check_nodes(population, params, config)
        if config.draw not in DRAWS:
            raise PopulationError(f"unknown draw {config.draw!r}: give one of {', '.join(DRAWS)}")
        if config.epoch < 1 or config.rounds < 1:
            raise PopulationError(f"rounds={config.rounds}, epoch={config.epoch}: give at least 1 of each")
        self.pool, self.population, self.params, self.config = pool, population, params, config
        self.nodes = {n.name: n for n in (*population.inference, *population.evaluators)}
        self.address = {name: address_of(name) for name in self.nodes}
        self.name_of = {a: name for name, a in self.address.items()}
        self.rank = {name: int(a, 16) for name, a in self.address.items()}  # the contract's order: ascending address
        self.requester = address_of("requester")
        self.poq = created_address(self.requester)
        self.stakes = {name: n.stake or params.min_stake for name, n in self.nodes.items()}
        self.partner = population.partner.name
        self.rng = random.Random(f"network:{config.seed}")
        self.keys = np.random.default_rng(config.seed)
        self.alternatives = np.random.default_rng([config.seed, 1])
        self.grinders = {n.name for n in population.inference if n.behaviour == "grind"}
        # A scenario whose adversaries and targets are node names (``network_incentives``), with randomness
        # of its own, so the rest of the network draws exactly what it draws without it.
        self.deviation = deviation
        self.deviation_rng = random.Random(f"network-deviation:{config.seed}")

    def registered(self, node: Node, round_index: int) -> bool:
        return node.joins <= round_index and (node.leaves is None or round_index < node.leaves)

    def epochs(self) -> list[tuple[int, int]]:
        """[start, stop) of every epoch: every ``epoch`` rounds, and wherever a node joins or leaves."""
        rounds = self.config.rounds
        cuts = set(range(0, rounds, self.config.epoch))
        for n in self.nodes.values():
            cuts.update(r for r in (n.joins, n.leaves) if r is not None and 0 < r < rounds)
        starts = sorted(cuts)
        return list(zip(starts, [*starts[1:], rounds], strict=True))

    def plan_epoch(self, start: int, stop: int) -> list[RoundPlan]:
        """The epoch's rounds up to the committee draw, from the state at its start."""
        p, cfg = self.params, self.config
        eligible = [n for n in self.population.inference
                    if self.registered(n, start) and self.stakes[n.name] >= p.min_stake]
        if len(eligible) < cfg.slots:
            raise PopulationError(f"round {start}: {len(eligible)} inference nodes can commit (registered, stake "
                                  f">= min_stake) for n={cfg.slots} slots: give more inference nodes or fewer slots")
        candidates = tuple(Candidate(self.address[e.name], self.stakes[e.name] if self.stakes[e.name] >= p.min_stake
                                     else 0)
                           for e in self.population.evaluators if self.registered(e, start))
        drawable = sum(c.weight > 0 for c in candidates)
        if drawable < cfg.committee:
            raise PopulationError(f"round {start}: {drawable} evaluator nodes are drawable (registered, stake >= "
                                  f"min_stake) for K={cfg.committee}: give more evaluator nodes or a smaller K")
        seeded = self._seeded_committees(self.keys, candidates, stop - start) if cfg.draw == "seeded" else None
        plans = []
        for index in range(start, stop):
            task = self.pool.tasks[self.rng.randrange(len(self.pool.tasks))]
            nodes = tuple(sorted(self.rng.sample(eligible, cfg.slots), key=lambda n: self.rank[n.name]))
            slots = []
            for n in nodes:
                e = task.entries[n.identity]
                if self.deviation is not None and n.name in self.deviation.adversaries:
                    play = self.deviation.slot(replace(e, model=n.name), task, self.deviation_rng)
                    slots.append(replace(play, reveals=play.reveals and n.behaviour != "silent"))
                    continue
                slots.append(SlotPlay(n.name, e.output, e.cost, e.scores, e.evaluator_costs,
                                      reveals=n.behaviour != "silent"))
            plan = RoundPlan(index, index + 1, task.task_id, task.kind, nodes, tuple(slots),
                             () if seeded else tuple(salt(cfg.seed, index, n.name) for n in nodes), candidates,
                             None if seeded is None else seeded[index - start])
            plans.append(self._grind(plan) if self.grinders else plan)
        return plans

    def _grind(self, plan: RoundPlan) -> RoundPlan:
        """The round's grinders withhold together when that pays the coalition: the partner's payout under the
        committee drawn without their salts, less its payout under the one drawn with them, exceeds what the
        grinders forfeit (their payouts) and the slashes they take. They reveal last, so they know the other
        salts; and they know every output and every member's scores, which makes this grinder an upper bound."""
        grinders = [i for i, n in enumerate(plan.slot_nodes) if n.name in self.grinders]
        if not grinders or not any(s.model == self.partner and s.reveals for s in plan.slots):
            return plan
        # The seeded draw's committee without the grinders' salts: another seed, from a generator of its own,
        # so the draws of the rest of the network are those of the same population with nobody grinding.
        alternative = self._seeded_committees(self.alternatives, plan.candidates, 1)[0] if plan.seeded else None
        withheld = replace(plan, withheld=True, alternative=alternative, slots=tuple(
            replace(s, reveals=False) if i in grinders else s for i, s in enumerate(plan.slots)))
        names = {plan.slot_nodes[i].name for i in grinders}
        paid = settle(self._input(self.scored(plan, self.predicted_committee(plan))), self.params).inference
        paid_without = settle(self._input(self.scored(withheld, self.predicted_committee(withheld))),
                              self.params).inference
        lift = (sum(p.amount for p in paid_without if p.node == self.partner)
                - sum(p.amount for p in paid if p.node == self.partner))
        forfeit = sum(p.amount for p in paid if p.node in names) + len(grinders) * self.params.slash_amount
        return withheld if lift > forfeit else plan

    def _seeded_committees(self, generator: np.random.Generator, candidates: Sequence[Candidate], rounds: int
                           ) -> list[tuple[str, ...]]:
        """``rounds`` committees by the contract's rule, keys ``-ln(u) / weight`` from ``generator``."""
        weights = np.array([float(c.weight) for c in candidates])
        keys = -np.log(1.0 - generator.random((rounds, len(candidates)))) / np.where(weights > 0, weights, 1.0)
        keys[:, weights == 0] = np.inf
        k = self.config.committee
        first = np.argpartition(keys, k - 1, axis=1)[:, :k]
        first = np.take_along_axis(first, np.take_along_axis(keys, first, 1).argsort(axis=1), 1)
        names = [self.name_of[c.address] for c in candidates]
        return [tuple(names[j] for j in row) for row in first.tolist()]

    def predicted_committee(self, plan: RoundPlan) -> tuple[str, ...]:
        """The members the contract draws for ``plan`` (names, in draw order); none if no output is revealed."""
        if not plan.any_revealed:
            return ()
        if plan.seeded is not None:
            return plan.alternative if plan.withheld and plan.alternative is not None else plan.seeded
        revealed = [s for s, play in zip(plan.salts, plan.slots, strict=True) if play.reveals]
        seed = round_seed(self.config.chain_id, self.poq, plan.round_id, mix_salts(revealed))
        return tuple(self.name_of[a] for a in draw(seed, plan.candidates, self.config.committee))

    def scored(self, plan: RoundPlan, committee: Sequence[str]) -> SimRound:
        """The round with its committee (ascending address) playing its behaviours on the revealed outputs."""
        revealed = [s for s in plan.slots if s.reveals]
        members = []
        costs: dict[str, Cost] = {}  # members of one kind attest the same cost for the same outputs
        for name in sorted(committee, key=self.rank.__getitem__):
            node = self.nodes[name]
            if self.deviation is not None and name in self.deviation.adversaries:
                # The scenario looks scores up under the name it deviates as: give it this node's kind's.
                mine = [replace(s, scores={name: s.scores[node.identity]}) for s in revealed]
                scores = tuple(clamp_wad(x) for x in self.deviation.score(name, mine, self.deviation_rng))
            elif node.behaviour == "collude":
                scores = tuple(WAD if s.model == self.partner else s.scores[node.identity] for s in revealed)
            else:
                scores = tuple(s.scores[node.identity] for s in revealed)  # recorded scores are WAD already
            if node.identity not in costs:
                costs[node.identity] = committee_cost(node.identity, revealed)
            members.append(MemberPlay(name, scores, costs[node.identity], commits=node.behaviour != "absent"))
        return SimRound(plan.index, plan.task_id, plan.kind, plan.slots, tuple(members))

    def settle(self, r: SimRound) -> RoundOutcome:
        """The reference settlement of ``r``, with each node's own stake; its slashes lower those stakes."""
        settlement = settle(self._input(r), self.params)
        for name, amount in settlement.slashes:
            self.stakes[name] -= amount
        return outcome(settlement)

    def _input(self, r: SimRound) -> RoundInput:
        """The reference model's input for ``r`` (members in ascending address), with today's stakes."""
        p = self.params
        outputs = [s for s in r.slots if s.reveals]
        return RoundInput(
            budget=ROUND_BUDGET, slots=len(r.slots), committee_size=self.config.committee,
            outputs=tuple(Output(s.model, normalised_cost(s.cost, p.inference_cost)) for s in outputs),
            committee=tuple(Evaluation(m.evaluator, m.commits, m.scores if m.commits else None,
                                       normalised_cost(m.cost, p.evaluator_cost)) for m in r.committee),
            unrevealed_committers=(silent := tuple(s.model for s in r.slots if not s.reveals)),
            # Only the slashable need a stake: silent committers and members that never commit.
            stakes={n: self.stakes[n] for n in (*silent, *(m.evaluator for m in r.committee if not m.commits))})


@cyclic_gc_paused()
def run_reference(pool: ProfilePool, population: Population, params: Params, config: NetworkConfig,
                  progress: SimProgress | None = None, deviation: Scenario | None = None) -> NetworkRun:
    """The network through the reference model, committees drawn by the contract's rule from the seeded salts;
    ``deviation``: a scenario played by the nodes it names (see ``Network``)."""
    net = Network(pool, population, params, config, deviation)
    run = NetworkRun()
    for start, stop in net.epochs():
        plans = net.plan_epoch(start, stop)
        committees = [net.predicted_committee(plan) for plan in plans]
        for plan, committee in zip(plans, committees, strict=True):
            r = net.scored(plan, committee)
            run.rounds.append(r)
            run.committees.append(committee)
            run.outcomes.append(net.settle(r))
        run.history.append((stop, dict(net.stakes)))
        if progress:
            progress(stop, config.rounds)
    run.stakes = dict(net.stakes)
    return run
