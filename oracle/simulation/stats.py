"""Per-node statistics of a simulation: the paper's average normalised reward, with its spread.

A node here is a profile identity (a model or an evaluator), however many
slots or committee seats it filled. Every seat it filled in a round is one
play: a revealed output or a revealed score list earns its reward (WAD / 1e18,
as the paper reports it); a committed-and-silent output earns 0 and a slash.
Paid wei counts compensation (a share of a forfeited pool) with the payouts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from oracle.protocol.params import WAD
from oracle.simulation.reference_backend import member_label, slot_label
from oracle.simulation.types import RoundOutcome, SimRound

INFERENCE, EVALUATOR = "inference", "evaluator"


@dataclass
class Plays:
    """Every play of one node, as floats (rewards, quality or agreement, cost) and wei."""

    role: str
    rewards: list[float] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)  # revealed plays only
    costs: list[float] = field(default_factory=list)  # revealed plays only
    paid_wei: int = 0
    slashed_wei: int = 0


@dataclass(frozen=True)
class NodeStats:
    name: str
    role: str
    rounds: int  # plays: seats filled (a model in two slots of one round plays twice)
    mean_reward: float
    std: float
    ci95: float  # half-width of the normal-approximation 95% interval of the mean
    mean_score: float  # consensus quality (inference) or agreement (evaluator)
    mean_cost: float  # normalised cost
    paid_eth: float
    slashed_eth: float


def collect(rounds: Sequence[SimRound], outcomes: Sequence[RoundOutcome]) -> dict[str, Plays]:
    """Every node's plays, by name (inference nodes first, then evaluators, each sorted)."""
    plays: dict[str, Plays] = {}
    for r, o in zip(rounds, outcomes, strict=True):
        paid = {p.index: p for p in o.inference}
        slashed = dict(o.slashes)
        compensated = dict(o.compensation)
        for i, s in enumerate(r.slots):
            node = plays.setdefault(s.model, Plays(INFERENCE))
            p = paid.get(i)
            node.rewards.append(p.reward / WAD if p else 0.0)
            if p:
                node.scores.append(p.score / WAD)
                node.costs.append(p.cost / WAD)
                node.paid_wei += p.amount
            node.paid_wei += compensated.get(slot_label(i), 0)
            node.slashed_wei += slashed.get(slot_label(i), 0)
        for p in o.evaluators:
            node = plays.setdefault(r.committee[p.index].evaluator, Plays(EVALUATOR))
            node.rewards.append(p.reward / WAD)
            node.scores.append(p.score / WAD)
            node.costs.append(p.cost / WAD)
            node.paid_wei += p.amount
        for j, m in enumerate(r.committee):  # compensation, and the slash of a member that did not do its part
            label = member_label(j)
            if label in compensated or label in slashed:
                node = plays.setdefault(m.evaluator, Plays(EVALUATOR))
                node.paid_wei += compensated.get(label, 0)
                node.slashed_wei += slashed.get(label, 0)
    return dict(sorted(plays.items(), key=lambda kv: (kv[1].role != INFERENCE, kv[0])))


def mean_ci(xs: Sequence[float]) -> tuple[float, float]:
    """The mean of ``xs`` and the half-width of its 95% interval (normal approximation, 1.96 sd / sqrt(n))."""
    if not xs:
        return 0.0, 0.0
    mean = sum(xs) / len(xs)
    if len(xs) < 2:
        return mean, 0.0
    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (len(xs) - 1))
    return mean, 1.96 * sd / math.sqrt(len(xs))


def paired(base: dict[int, float], now: dict[int, float]) -> tuple[float, float]:
    """The mean change from ``base`` to ``now`` over ``base``'s rounds (a round missing from ``now`` counts 0),
    with its 95% half-width: a paired comparison of the same rounds played two ways."""
    return mean_ci([now.get(k, 0.0) - v for k, v in base.items()])


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


def summarise(plays: dict[str, Plays]) -> list[NodeStats]:
    out = []
    for name, p in plays.items():
        n = len(p.rewards)
        mean = _mean(p.rewards)
        std = math.sqrt(sum((x - mean) ** 2 for x in p.rewards) / (n - 1)) if n > 1 else 0.0
        out.append(NodeStats(name, p.role, n, mean, std, 1.96 * std / math.sqrt(n) if n else 0.0,
                             _mean(p.scores), _mean(p.costs), p.paid_wei / 1e18, p.slashed_wei / 1e18))
    return out


def node_stats(rounds: Sequence[SimRound], outcomes: Sequence[RoundOutcome]) -> list[NodeStats]:
    return summarise(collect(rounds, outcomes))


def by_name(stats: Sequence[NodeStats]) -> dict[str, NodeStats]:
    return {s.name: s for s in stats}
