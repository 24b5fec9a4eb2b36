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

The lazy node answers "I don't know." to every task, and the copying node
pastes the first sentence of the source; neither runs a model. Both are
re-scored from the profile's probes (``oracle.pipeline.probes``): each
evaluator gives such an answer the score it gave that very non-answer on that
task when the profile was recorded, at the cost it measured. A profile without
probes offers neither scenario (the pool's notes say so).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace

from oracle.protocol.params import WAD
from oracle.protocol.reward import Cost
from oracle.simulation.record_pool import Entry, ProfilePool, TaskDraw
from oracle.simulation.types import SlotPlay

LAZY_PROBE = "idk"  # the lazy node's constant answer, "I don't know."
COPY_PROBE = "lead"  # the copying node's answer, the source's first sentence
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
    factor: int = UNDER_REPORT  # attests 1/factor of each measure

    def slot(self, entry, task, rng):
        play = super().slot(entry, task, rng)
        if entry.model not in self.adversaries:
            return play
        c, k = play.cost, self.factor
        return replace(play, cost=Cost(c.latency_ms // k, c.tokens // k, c.memory_mb // k))


@dataclass(frozen=True)
class ConsensusCopier(Scenario):
    """The adversarial evaluator skips scoring: it gives each output its model's average score, as it expects
    the consensus to be. ``means`` holds (model, WAD score) pairs."""

    means: tuple[tuple[str, int], ...] = ()

    def score(self, evaluator, slots, rng):
        honest = super().score(evaluator, slots, rng)
        if evaluator not in self.adversaries:
            return honest
        expected = dict(self.means)
        return [expected[s.model] for s in slots]


@dataclass(frozen=True)
class NeverReveals(Scenario):
    def slot(self, entry, task, rng):
        play = super().slot(entry, task, rng)
        return replace(play, reveals=False) if entry.model in self.adversaries else play


@dataclass(frozen=True)
class ProbeAnswer(Scenario):
    """The adversary sends the probe ``probe`` instead of its model's answer, scored as the profile recorded."""

    probe: str = LAZY_PROBE

    def slot(self, entry, task, rng):
        play = super().slot(entry, task, rng)
        if entry.model not in self.adversaries:
            return play
        sent = task.probes[self.probe]
        return replace(play, output=sent.output, cost=sent.cost, scores=sent.scores, item_costs=sent.evaluator_costs)


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
    ]
    if pool.has_probe(LAZY_PROBE):
        out.append(ProbeAnswer("lazy-node", f"{weakest} answers \"I don't know.\" to everything, running no model",
                               (weakest,), weakest, probe=LAZY_PROBE))
    if pool.has_probe(COPY_PROBE):
        out.append(ProbeAnswer("copying-node", f"{weakest} pastes the source's first sentence, running no model",
                               (weakest,), weakest, probe=COPY_PROBE))
    if len(pool.evaluators) >= 2:
        pair = tuple(pool.evaluators[:2])
        out.append(FixedScore("colluding-evaluators", f"{pair[0]} and {pair[1]} both score {weakest} 1.0",
                              pair, weakest, target=weakest, value=WAD))
    return {s.name: s for s in out}
