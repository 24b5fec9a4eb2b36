"""A network of nodes, not the profile's identities: N inference and M evaluator nodes, and collusion curves.

``poq simulate`` replays the paper's experiment, where each profile identity is
one node. Here every node is its own account: inference node ``i`` plays the
profile's model ``i mod (number of models)`` and evaluator node ``j`` its
evaluator ``j mod (number of evaluators)``, so M = 30 evaluators are ten
copies of each of three evaluator kinds, each scoring as its kind recorded.
A colluding group is a fraction f of the evaluator nodes; its members score
every output of their partner (inference node 0, which plays the weakest model)
1.0 and everything else honestly.

Each round draws its task, its n inference nodes and its committee of K from
the population. Every node stakes the same and nobody is slashed in these
behaviours, so the contract's stake-weighted draw (``oracle.protocol.sortition``)
is a uniform draw without replacement; here it is made from a seed, and the
same seed draws the same rounds for every f, so each curve point is a paired
comparison with the honest network (f = 0).

A colluding majority of the committee is what breaks the median: with
``X ~ Hypergeometric(M, C, K)`` colluders in a committee, the median follows
them when ``X > K / 2``. ``majority_probability`` gives that probability, and
the curves report it beside the gain actually measured.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from oracle.errors import UsageError
from oracle.protocol.params import WAD, Aggregation, Params
from oracle.protocol.reward import Cost
from oracle.simulation.engine import committee_cost, cyclic_gc_paused
from oracle.simulation.record_pool import ProfilePool
from oracle.simulation.reference_backend import ReferenceBackend
from oracle.simulation.stats import paired
from oracle.simulation.types import MemberPlay, SimRound, SlotPlay

# A gain below this is noise for a protocol's purposes: issue 15's tolerance for a partner's gain.
TOLERANCE = 0.01


class PopulationError(UsageError):
    """A population or a curve that cannot be simulated; the message names the value and the fix."""


@dataclass(frozen=True)
class Node:
    name: str
    identity: str  # the profile model or evaluator it plays
    behaviour: str = "honest"
    stake: int = 0  # wei it registers with; 0: the minimum stake
    joins: int = 0  # the first round it plays (``network``)
    leaves: int | None = None  # the first round it no longer plays (None: stays)


@dataclass(frozen=True)
class Population:
    inference: tuple[Node, ...]
    evaluators: tuple[Node, ...]

    @property
    def partner(self) -> Node:
        """The inference node the colluders lift: node 0, which plays the pool's weakest model."""
        return self.inference[0]


def _fraction(f: float) -> float:
    if not (isinstance(f, (int, float)) and math.isfinite(f) and 0.0 <= f <= 1.0):
        raise PopulationError(f"colluding fraction f={f!r} is outside [0, 1]: give a share of the evaluator "
                              "nodes, e.g. 0.2 for one in five")
    return float(f)


def build_population(pool: ProfilePool, inference: int, evaluators: int, colluding: float,
                     seed: int = 0) -> Population:
    """N inference and M evaluator nodes over the pool's identities, ``round(f * M)`` of the evaluators colluding.

    The colluders are a seeded random subset, so they are spread over the evaluator kinds."""
    f = _fraction(colluding)
    if inference < 1 or evaluators < 1:
        raise PopulationError(f"a population needs inference and evaluator nodes, got N={inference}, "
                              f"M={evaluators}: give at least 1 of each")
    by_quality = sorted(pool.models, key=pool.mean_score)
    models = [by_quality[0]] + [m for m in pool.models if m != by_quality[0]]  # node 0 plays the weakest
    inf = tuple(Node(f"inference-{i:03d}", models[i % len(models)]) for i in range(inference))
    count = round(f * evaluators)
    colluders = set(random.Random(f"colluders:{seed}").sample(range(evaluators), count))
    evs = tuple(Node(f"evaluator-{j:03d}", pool.evaluators[j % len(pool.evaluators)],
                     "collude" if j in colluders else "honest") for j in range(evaluators))
    if all(e.behaviour != "honest" for e in evs):
        raise PopulationError(f"f={f} makes all {evaluators} evaluator nodes collude: a population needs an "
                              "honest evaluator to compare against; give f < 1")
    return Population(inf, evs)


def majority_probability(m: int, colluders: int, k: int) -> float:
    """P(more than K / 2 of a K-committee drawn uniformly without replacement from M nodes are colluders)."""
    need = k // 2 + 1
    total = math.comb(m, k)
    return sum(math.comb(colluders, x) * math.comb(m - colluders, k - x)
               for x in range(need, min(k, colluders) + 1)) / total


@dataclass(frozen=True)
class Draws:
    """The random part of every round, shared by all curve points: task, slot nodes, committee nodes."""

    tasks: tuple[int, ...]
    slots: tuple[tuple[int, ...], ...]
    committees: tuple[tuple[int, ...], ...]


@cyclic_gc_paused()
def draw(pool: ProfilePool, inference: int, evaluators: int, slots: int, committee: int, rounds: int,
         seed: int) -> Draws:
    if slots > inference:
        raise PopulationError(f"n={slots} slots exceed the N={inference} inference nodes: give n <= N")
    if committee > evaluators:
        raise PopulationError(f"K={committee} exceeds the M={evaluators} evaluator nodes: give K <= M")
    rng = random.Random(f"population:{seed}")
    tasks, slot_draws, committees = [], [], []
    for _ in range(rounds):
        tasks.append(rng.randrange(len(pool.tasks)))
        slot_draws.append(tuple(rng.sample(range(inference), slots)))
        committees.append(tuple(rng.sample(range(evaluators), committee)))
    return Draws(tuple(tasks), tuple(slot_draws), tuple(committees))


@cyclic_gc_paused()
def play(pool: ProfilePool, population: Population, draws: Draws) -> list[SimRound]:
    """The rounds as the population plays them: honest nodes as recorded, colluders lifting the partner."""
    partner = population.partner.name
    rounds = []
    for index, (t, slot_ids, member_ids) in enumerate(zip(draws.tasks, draws.slots, draws.committees,
                                                          strict=True)):
        task = pool.tasks[t]
        slots = []
        for i in slot_ids:
            node = population.inference[i]
            e = task.entries[node.identity]
            slots.append(SlotPlay(node.name, e.output, e.cost, e.scores, e.evaluator_costs))
        members = []
        costs: dict[str, Cost] = {}  # members of one kind attest the same cost for the same outputs
        for j in member_ids:
            node = population.evaluators[j]
            if node.behaviour == "collude":
                scores = tuple(WAD if s.model == partner else s.scores[node.identity] for s in slots)
            else:
                scores = tuple(s.scores[node.identity] for s in slots)  # recorded scores are WAD already
            if node.identity not in costs:
                costs[node.identity] = committee_cost(node.identity, slots)
            members.append(MemberPlay(node.name, scores, costs[node.identity]))
        rounds.append(SimRound(index, task.task_id, task.kind, tuple(slots), tuple(members)))
    return rounds


def rewards_by_round(rounds: Sequence[SimRound], params: Params) -> dict[str, dict[int, float]]:
    """node -> round index -> normalised reward, through the reference model of the contract."""
    outcomes = ReferenceBackend().run(rounds, params)
    out: dict[str, dict[int, float]] = {}
    for r, o in zip(rounds, outcomes, strict=True):
        # A node fills at most one slot or seat of a round here, so a round is one reward per node; a silent
        # output earns 0, as in ``stats.collect`` (which would build a whole ``Plays`` per round: slower).
        paid = {p.index: p.reward for p in o.inference}
        for i, s in enumerate(r.slots):
            out.setdefault(s.model, {})[r.index] = paid.get(i, 0) / WAD
        for p in o.evaluators:
            out.setdefault(r.committee[p.index].evaluator, {})[r.index] = p.reward / WAD
    return out


@dataclass(frozen=True)
class CurvePoint:
    aggregation: str
    committee: int
    fraction: float  # f asked for
    colluders: int  # round(f * M)
    partner_gain: float  # mean paired change of the partner's reward, over the rounds it plays
    partner_ci: float  # 95% half-width of that mean
    worst_honest_loss: float  # the most negative mean change of any honest inference node (0 if none lost)
    majority_measured: float  # share of rounds whose committee had a colluding majority
    majority_analytical: float  # majority_probability(M, colluders, K)


def collusion_curve(pool: ProfilePool, params: Params, *, inference: int, evaluators: int, slots: int,
                    committee: int, fractions: Sequence[float], rounds: int, seed: int = 0) -> list[CurvePoint]:
    """The partner's gain and the worst honest loss against the colluding fraction, for one K and one rule."""
    if not fractions:
        raise PopulationError("the curve has no points: give at least one colluding fraction, e.g. 0,0.1,0.2")
    for f in fractions:
        _fraction(f)
    draws = draw(pool, inference, evaluators, slots, committee, rounds, seed)
    honest = build_population(pool, inference, evaluators, 0.0, seed)
    base = rewards_by_round(play(pool, honest, draws), params)
    points = []
    for f in fractions:
        population = build_population(pool, inference, evaluators, f, seed)
        now = rewards_by_round(play(pool, population, draws), params)
        gain, ci = paired(base[population.partner.name], now[population.partner.name])
        honest_changes = [paired(base[n.name], now[n.name])[0] for n in population.inference[1:]
                          if n.name in base]
        colluding = {j for j, e in enumerate(population.evaluators) if e.behaviour == "collude"}
        majority = sum(sum(j in colluding for j in c) > committee / 2 for c in draws.committees) / rounds
        points.append(CurvePoint(params.aggregation.name.lower(), committee, f, len(colluding), gain, ci,
                                 min([0.0, *honest_changes]), majority,
                                 majority_probability(evaluators, len(colluding), committee)))
    return points


def breakdown_fraction(points: Sequence[CurvePoint], tolerance: float = TOLERANCE) -> float | None:
    """The smallest f at which the partner's gain exceeds ``tolerance`` with 95% confidence (None: never)."""
    for p in sorted(points, key=lambda p: p.fraction):
        if p.partner_gain - p.partner_ci > tolerance:
            return p.fraction
    return None


def with_aggregation(params: Params, rule: str) -> Params:
    """``params`` under the aggregation rule named ``rule`` ("mean", "median", ...)."""
    try:
        return params.with_(aggregation=Aggregation[rule.upper()])
    except KeyError:
        raise PopulationError(f"unknown aggregation {rule!r}: the contract offers "
                              f"{', '.join(a.name.lower() for a in Aggregation)}") from None
