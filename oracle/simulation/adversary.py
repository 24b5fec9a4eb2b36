"""How much each adversary moves everyone's reward, under mean and under median aggregation.

Every scenario plays the honest baseline's rounds (same draws) with its one
deviation; the change in each node's average normalised reward against the
baseline, under the same aggregation, is the adversary's effect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from oracle.protocol.params import Aggregation, Params
from oracle.simulation.engine import sim_rounds
from oracle.simulation.record_pool import ProfilePool
from oracle.simulation.scenarios import Scenario
from oracle.simulation.stats import NodeStats, Plays, by_name, collect, summarise
from oracle.simulation.types import Draw, SettlementBackend, SimProgress, SimRound

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


class Settlements:
    """Scenarios settled on ``backend``: each scenario's rounds built once, each (scenario, params) settled once.

    On Anvil a settlement is a fresh chain, a deployment and ~18 transactions a round, so the main run, the
    adversary report and the beta sweep share what they have in common (the honest baseline, above all).
    """

    def __init__(self, pool: ProfilePool, draws: Sequence[Draw], seed: int, backend: SettlementBackend) -> None:
        self.pool, self.draws, self.seed, self.backend = pool, draws, seed, backend
        self._rounds: dict[str, list[SimRound]] = {}
        self._stats: dict[tuple[str, Params], list[NodeStats]] = {}

    def rounds(self, scenario: Scenario) -> list[SimRound]:
        """The draws played under ``scenario`` (scenarios are told apart by name)."""
        if scenario.name not in self._rounds:
            self._rounds[scenario.name] = sim_rounds(self.pool, self.draws, scenario, self.seed)
        return self._rounds[scenario.name]

    def plays(self, scenario: Scenario, params: Params, progress: SimProgress | None = None) -> dict[str, Plays]:
        """Every node's plays, settled on the backend now (plays are not kept); their statistics are kept."""
        rounds = self.rounds(scenario)
        plays = collect(rounds, self.backend.run(rounds, params, progress))
        self._stats[scenario.name, params] = summarise(plays)
        return plays

    def stats(self, scenario: Scenario, params: Params) -> list[NodeStats]:
        """Every node's statistics under ``scenario`` and ``params``, settled only if not already."""
        key = scenario.name, params
        if key not in self._stats:
            self.plays(scenario, params)
        return self._stats[key]


def compare(settlements: Settlements, params: Params, scenarios: Sequence[Scenario],
            progress: SimProgress | None = None) -> list[ScenarioResult]:
    """The honest baseline and every scenario under both aggregations (reusing what is already settled)."""
    runs = [(s, how) for s in [Scenario(), *scenarios] for how in AGGREGATIONS]
    stats: dict[tuple[str, Aggregation], list[NodeStats]] = {}
    for k, (scenario, how) in enumerate(runs):
        stats[scenario.name, how] = settlements.stats(scenario, params.with_(aggregation=how))
        if progress:
            progress(k + 1, len(runs))
    return [ScenarioResult(s, {h: stats["honest", h] for h in AGGREGATIONS},
                           {h: stats[s.name, h] for h in AGGREGATIONS}) for s in scenarios]
