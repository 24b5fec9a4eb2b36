"""Two evaluator-trust rules under a coordinated group that copies instead of scoring (issue 15's design study).

Neither rule is in the contract: this measures them on recorded data before
one is built. M evaluator nodes (node j plays the profile's evaluator j mod the
number of kinds) sit on committees of K drawn uniformly; a coordinated group, a
fraction g of them, gives every output the average score of the model that
produced it (what it expects the consensus to be) without scoring, so its
members always agree with one another. Each round one in ``probe_every`` of the
outputs is a probe instead: a recorded non-answer ("I don't know.") whose true
quality is known (its ground-truth metric), sent as if from a model, so no
evaluator can tell it apart.

Both rules update weights multiplicatively (Hedge), so a small advantage that
persists compounds: a member's weight is multiplied by
``exp(rate * (c - mean c))``, where ``c`` is its closeness and ``mean c`` the
committee's, and the weights are renormalised.

- **Consensus distance** (the rule of arXiv 2601.21189): ``c`` is
  ``1 - mean |s - consensus|`` against the round's weight-weighted consensus.
  The group is its own reference: where it sits on a committee, it pulls the
  consensus to itself, and an expected score is close to any consensus.
- **Anchored to ground truth**: only probes move weights, and ``c`` is
  ``1 - |s - truth|`` against the probe's known quality.

``trust_shares`` reports, every ``every`` rounds, the group's share of all
trust under each rule (its share of the nodes is the fair level).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from oracle.protocol.params import WAD
from oracle.simulation.population import PopulationError
from oracle.simulation.record_pool import ProfilePool
from oracle.simulation.scenarios import LAZY_PROBE

GROUND_TRUTH = "ground-truth"


@dataclass(frozen=True)
class TrustTrace:
    rounds: tuple[int, ...]  # rounds played at each sample
    consensus: tuple[float, ...]  # the group's share of trust under consensus distance
    anchored: tuple[float, ...]  # ... and under ground-truth anchoring
    fair: float  # the group's share of the nodes
    consensus_top: float  # the largest weight any one node holds at the end under consensus distance


def _hedge(weights: list[float], closeness: dict[int, float], rate: float) -> None:
    """Multiply each member's weight by ``exp(rate * (its closeness - the members' mean))``; renormalise all."""
    mean = sum(closeness.values()) / len(closeness)
    for j, c in closeness.items():
        weights[j] *= math.exp(rate * (c - mean))
    total = sum(weights)
    for j in range(len(weights)):
        weights[j] /= total


def trust_shares(pool: ProfilePool, *, evaluators: int = 20, group: float = 0.3, committee: int = 3,
                 slots: int = 5, rounds: int = 5_000, probe_every: int = 10, rate: float = 1.0, every: int = 250,
                 seed: int = 0) -> TrustTrace:
    """The coordinated group's share of trust under both rules, round after round, on the same rounds."""
    if not pool.has_probe(LAZY_PROBE) or GROUND_TRUTH not in pool.evaluators:
        raise PopulationError(f"the profile {pool.path} has no '{LAZY_PROBE}' probes with a ground-truth score: "
                              "record it with `poq eval` (which records probes)")
    if not 0 < group < 1:
        raise PopulationError(f"group={group}: give a fraction of the evaluators in (0, 1)")
    if committee > evaluators:
        raise PopulationError(f"K={committee} exceeds the M={evaluators} evaluator nodes: give K <= M")
    rng = random.Random(f"trust:{seed}")
    kinds = [pool.evaluators[j % len(pool.evaluators)] for j in range(evaluators)]
    copiers = set(rng.sample(range(evaluators), round(group * evaluators)))
    expected = {m: round(pool.mean_score(m) * WAD) for m in pool.models}
    consensus_trust = [1.0 / evaluators] * evaluators
    anchored_trust = [1.0 / evaluators] * evaluators
    samples: list[tuple[int, float, float]] = []

    def share(trust: list[float]) -> float:
        return sum(trust[j] for j in copiers) / sum(trust)

    for k in range(1, rounds + 1):
        task = pool.tasks[rng.randrange(len(pool.tasks))]
        models = [rng.choice(pool.models) for _ in range(slots)]
        probe = rng.randrange(slots) if rng.randrange(probe_every) == 0 else None
        members = rng.sample(range(evaluators), committee)
        scores = {}
        for j in members:
            row = []
            for i, m in enumerate(models):
                entry = task.probes[LAZY_PROBE] if i == probe else task.entries[m]
                row.append(expected[m] if j in copiers else entry.scores[kinds[j]])
            scores[j] = row
        weight = sum(consensus_trust[j] for j in members)
        consensus = [sum(consensus_trust[h] * scores[h][i] for h in members) / weight for i in range(slots)]
        _hedge(consensus_trust, {j: 1 - sum(abs(scores[j][i] - consensus[i]) for i in range(slots)) / slots / WAD
                                 for j in members}, rate)
        if probe is not None:
            truth = task.probes[LAZY_PROBE].scores[GROUND_TRUTH]
            _hedge(anchored_trust, {j: 1 - abs(scores[j][probe] - truth) / WAD for j in members}, rate)
        if k % every == 0 or k == rounds:
            samples.append((k, share(consensus_trust), share(anchored_trust)))
    return TrustTrace(tuple(s[0] for s in samples), tuple(s[1] for s in samples), tuple(s[2] for s in samples),
                      len(copiers) / evaluators, max(consensus_trust))
