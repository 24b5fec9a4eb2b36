"""How much each adversary moves everyone's reward, under mean and under median aggregation.

Every scenario plays the honest baseline's rounds (same draws) with its one
deviation; the change in each node's average normalised reward against the
baseline, under the same aggregation, is the adversary's effect.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from oracle.params import Aggregation, Params
from oracle.simulation.engine import Backend, Draw, Progress, build_rounds
from oracle.simulation.profile_pool import ProfilePool
from oracle.simulation.scenarios import Scenario
from oracle.simulation.stats import NodeStats, by_name, node_stats

AGGREGATIONS = (Aggregation.MEAN, Aggregation.MEDIAN)


@dataclass(frozen=True)
class ScenarioResult:
    """A scenario's node statistics next to the honest baseline's, per aggregation."""

    scenario: Scenario
    baseline: dict[Aggregation, list[NodeStats]]
    attacked: dict[Aggregation, list[NodeStats]]

    def deltas(self, how: Aggregation) -> dict[str, float]:
        """Each node's change in average reward against the baseline."""
        base = by_name(self.baseline[how])
        return {s.name: s.mean_reward - base[s.name].mean_reward for s in self.attacked[how]}

    def adversary_gain(self, how: Aggregation) -> float:
        """The adversaries' mean change in average reward."""
        d = self.deltas(how)
        return sum(d[a] for a in self.scenario.adversaries) / len(self.scenario.adversaries)

    def beneficiary_gain(self, how: Aggregation) -> float | None:
        """The colluding inference node's change, if the scenario has one."""
        b = self.scenario.beneficiary
        return self.deltas(how)[b] if b else None

    def worst_honest(self, how: Aggregation) -> tuple[str, float]:
        """The honest node whose average reward fell most (or rose least), and by how much."""
        involved = set(self.scenario.adversaries) | {self.scenario.beneficiary}
        honest = [(name, d) for name, d in self.deltas(how).items() if name not in involved]
        return min(honest, key=lambda nd: nd[1])


def compare(pool: ProfilePool, draws: Sequence[Draw], params: Params, seed: int, backend: Backend,
            scenarios: Sequence[Scenario], progress: Progress | None = None) -> list[ScenarioResult]:
    """Run the honest baseline and every scenario under both aggregations on ``backend``."""
    runs = [(s, how) for s in [Scenario(), *scenarios] for how in AGGREGATIONS]
    stats: dict[tuple[str, Aggregation], list[NodeStats]] = {}
    for k, (scenario, how) in enumerate(runs):
        rounds = build_rounds(pool, draws, scenario, seed)
        outcomes = backend.run(rounds, params.with_(aggregation=how))
        stats[scenario.name, how] = node_stats(rounds, outcomes)
        if progress:
            progress(k + 1, len(runs))
    return [ScenarioResult(s, {h: stats["honest", h] for h in AGGREGATIONS},
                           {h: stats[s.name, h] for h in AGGREGATIONS}) for s in scenarios]
