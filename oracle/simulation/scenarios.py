"""Who plays honestly and who does not: the honest baseline and the adversaries.

The paper simulated honest nodes only. Each adversary here deviates in one
way, on the very rounds the honest baseline draws (same seed), so the change
in every node's average reward is the adversary's doing alone.

Adversaries are profile identities, picked from the pool so that the result
does not hinge on a hand choice:

- the inference adversary (the boosted colluder, the cost cheat, the silent
  and the lazy node) is the *weakest* model: lowest mean score over every
  evaluator and task. It has the most to gain.
- the sabotaged rival is the *strongest* model.
- adversarial evaluators are the first learned evaluators in name order (the
  reference-based ``ground-truth`` evaluator comes last and stays honest
  unless there is nothing else).

The lazy node answers ``LAZY_ANSWER`` to every task at next to no cost. The
profile holds no reference texts, so its score cannot be recomputed; each
evaluator gives it that evaluator's *lowest* recorded score on the task, and
scoring it costs that evaluator's cheapest recorded item on the task. Both
favour the lazy node: a constant non-answer scores no better than the worst
real answer (for token F1 that floor is usually 0 anyway), so whatever
reward the lazy node still earns is an upper bound.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace

from oracle.pipeline.records import EvaluatorCost
from oracle.protocol.params import WAD
from oracle.protocol.reward import Cost
from oracle.simulation.record_pool import Entry, ProfilePool, TaskDraw
from oracle.simulation.types import SlotPlay

LAZY_ANSWER = "I don't know."
# The lazy node runs no model: 1 ms, the constant's 4 tokens, 1 MB.
LAZY_COST = Cost(latency_ms=1, tokens=4, memory_mb=1)
NOISE_STD = 0.25  # the noisy evaluator's Gaussian noise, in score units
UNDER_REPORT = 4  # the cost cheat attests a quarter of each measure


@dataclass(frozen=True)
class Scenario:
    """Honest play; subclasses override ``slot`` (inference) or ``score`` (evaluators)."""

    name: str = "honest"
    description: str = "every node follows the protocol (the paper's setting)"
    adversaries: tuple[str, ...] = ()  # identities that deviate
    beneficiary: str | None = None  # the inference node the deviation is meant to help

    def slot(self, entry: Entry, task: TaskDraw, rng: random.Random) -> SlotPlay:
        """What the node playing ``entry.model`` commits and reveals."""
        return SlotPlay(entry.model, entry.output, entry.cost, entry.scores, entry.evaluator_costs)

    def score(self, evaluator: str, slots: Sequence[SlotPlay], rng: random.Random) -> list[int]:
        """The WAD scores ``evaluator`` reveals for the revealed ``slots``."""
        return [s.scores[evaluator] for s in slots]


@dataclass(frozen=True)
class NoisyEvaluator(Scenario):
    def score(self, evaluator, slots, rng):
        honest = super().score(evaluator, slots, rng)
        if evaluator not in self.adversaries:
            return honest
        return [round(s + rng.gauss(0.0, NOISE_STD) * WAD) for s in honest]


@dataclass(frozen=True)
class FixedScore(Scenario):
    """The adversarial evaluators give ``target``'s outputs the score ``value``."""

    target: str = ""
    value: int = WAD

    def score(self, evaluator, slots, rng):
        honest = super().score(evaluator, slots, rng)
        if evaluator not in self.adversaries:
            return honest
        return [self.value if s.model == self.target else x for s, x in zip(slots, honest, strict=True)]


@dataclass(frozen=True)
class UnderReportedCost(Scenario):
    def slot(self, entry, task, rng):
        play = super().slot(entry, task, rng)
        if entry.model not in self.adversaries:
            return play
        c = play.cost
        return replace(play, cost=Cost(c.latency_ms // UNDER_REPORT, c.tokens // UNDER_REPORT,
                                       c.memory_mb // UNDER_REPORT))


@dataclass(frozen=True)
class NeverReveals(Scenario):
    def slot(self, entry, task, rng):
        play = super().slot(entry, task, rng)
        return replace(play, reveals=False) if entry.model in self.adversaries else play


@dataclass(frozen=True)
class LazyNode(Scenario):
    def slot(self, entry, task, rng):
        play = super().slot(entry, task, rng)
        if entry.model not in self.adversaries:
            return play
        others = list(task.entries.values())
        floor = {e: min(o.scores[e] for o in others) for e in entry.scores}
        cheapest = {e: EvaluatorCost(latency_ms=min(o.evaluator_costs[e].latency_ms for o in others),
                                     tokens=min(o.evaluator_costs[e].tokens for o in others),
                                     peak_memory_mb=min(o.evaluator_costs[e].peak_memory_mb for o in others))
                    for e in entry.evaluator_costs}
        return replace(play, output=LAZY_ANSWER, cost=LAZY_COST, scores=floor, item_costs=cheapest)


def scenarios(pool: ProfilePool) -> dict[str, Scenario]:
    """Every scenario the pool supports, honest first, by name."""
    by_quality = sorted(pool.models, key=pool.mean_score)
    weakest, strongest = by_quality[0], by_quality[-1]
    first = pool.evaluators[0]
    out = [
        Scenario(),
        NoisyEvaluator("noisy-evaluator", f"{first} adds Gaussian noise (std {NOISE_STD}) to every score",
                       (first,)),
        FixedScore("boosting-evaluator", f"{first} scores every output of its colluder {weakest} 1.0",
                   (first,), weakest, target=weakest, value=WAD),
        FixedScore("sabotaging-evaluator", f"{first} scores every output of the rival {strongest} 0.0",
                   (first,), None, target=strongest, value=0),
        UnderReportedCost("cost-underreport", f"{weakest} attests 1/{UNDER_REPORT} of every cost measure",
                          (weakest,), weakest),
        NeverReveals("never-reveal", f"{weakest} commits and never reveals (slashed every time)",
                     (weakest,), weakest),
        LazyNode("lazy-node", f"{weakest} answers {LAZY_ANSWER!r} to everything at next to no cost",
                 (weakest,), weakest),
    ]
    if len(pool.evaluators) >= 2:
        pair = tuple(pool.evaluators[:2])
        out.append(FixedScore("colluding-evaluators", f"{pair[0]} and {pair[1]} both score {weakest} 1.0",
                              pair, weakest, target=weakest, value=WAD))
    return {s.name: s for s in out}
